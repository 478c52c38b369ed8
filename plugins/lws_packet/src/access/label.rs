//! Labels: the names token and certificate files give senders and
//! readers. A label shows in packets (`"source"`), the access log's user
//! field and metric labels, so it is one short word.

/// Longest label.
pub const MAX_LABEL: usize = 64;

/// A label: 1 to 64 letters, digits or `. _ - : @ +`.
pub fn check_label(label: &str) -> Result<(), String> {
    let ok = (1..=MAX_LABEL).contains(&label.len())
        && label.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'@' | b'+')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "label {:?}: 1 to {MAX_LABEL} letters, digits or . _ - : @ +",
            label.chars().take(80).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_short_word() {
        for ok in ["ctrl-0042", "a", "plant.7:unit@site+x_y", &"x".repeat(64)] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "two words", "quo\"te", "slash/no", &"x".repeat(65), "é"] {
            assert!(check_label(bad).is_err(), "{bad}");
        }
    }
}
