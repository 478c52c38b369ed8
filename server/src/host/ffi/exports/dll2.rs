//! `lws_dll2_*` and `lws_list_ptr_insert`: lists threaded through the
//! plugin's own structs. Everything here reads and writes plugin memory
//! through the nodes it is given, exactly as lws's own list code does; the
//! host can check only that pointers are not NULL, so the rest is the lws
//! contract: a node and its owner are valid, and a node is in at most the
//! list its `owner` names.
//!
//! Adding a node that is still in a list, or before a node that is in
//! none, is refused (lws asserts, then does nothing in a release build).

use std::ffi::{c_char, c_int, c_void, CStr};

use comlink_plugin_api::abi::{LwsDll2, LwsDll2Owner};

use crate::host::ffi::boundary::{export, Fault};

type Compare = unsafe extern "C" fn(*const LwsDll2, *const LwsDll2) -> c_int;
type Compare3 = unsafe extern "C" fn(*mut c_void, *const LwsDll2, *const LwsDll2) -> c_int;
type ForeachCb = unsafe extern "C" fn(*mut LwsDll2, *mut c_void) -> c_int;
type ListSort = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;

/// Whether `d` is in no list (lws's test: no owner, and no neighbours;
/// neighbours without an owner are a corrupt node, logged, not detached).
///
/// # Safety
///
/// `d` is a readable node.
unsafe fn detached(d: *const LwsDll2) -> bool {
    // SAFETY: `d` is readable (our contract).
    let n = unsafe { &*d };
    if !n.owner.is_null() {
        return false;
    }
    if !n.next.is_null() || !n.prev.is_null() {
        tracing::error!("lws_dll2: node {d:p} has neighbours but no owner");
        return false;
    }
    true
}

/// Links detached `d` in front of `after`, a member of `o`.
///
/// # Safety
///
/// `d`, `after` and `o` are valid; `after` is in `o`'s list.
unsafe fn link_before(d: *mut LwsDll2, after: *mut LwsDll2, o: *mut LwsDll2Owner) {
    // SAFETY: valid nodes and owner of one list (our contract); `prev` of a
    // member is null or another member.
    unsafe {
        (*d).owner = o;
        (*d).next = after;
        (*d).prev = (*after).prev;
        (*after).prev = d;
        if (*d).prev.is_null() {
            (*o).head = d;
        } else {
            (*(*d).prev).next = d;
        }
        (*o).count = (*o).count.wrapping_add(1);
    }
}

/// Links detached `d` after the tail of `o`.
///
/// # Safety
///
/// `d` and `o` are valid.
unsafe fn link_tail(d: *mut LwsDll2, o: *mut LwsDll2Owner) {
    // SAFETY: as above; the tail is null or a member.
    unsafe {
        (*d).owner = o;
        (*d).next = std::ptr::null_mut();
        (*d).prev = (*o).tail;
        if (*o).tail.is_null() {
            (*o).head = d;
        } else {
            (*(*o).tail).next = d;
        }
        (*o).tail = d;
        (*o).count = (*o).count.wrapping_add(1);
    }
}

/// Refuses a node that is already in a list.
///
/// # Safety
///
/// `d` is null or a readable node.
unsafe fn addable(d: *const LwsDll2) -> Result<(), Fault> {
    if d.is_null() {
        return Err(Fault::Null("d"));
    }
    // SAFETY: non-null node (our contract).
    if !unsafe { detached(d) } {
        return Err(Fault::Refused(format!("node {d:p} is still in a list")));
    }
    Ok(())
}

export! {
    /// `lws_dll2_is_detached`.
    fn lws_dll2_is_detached(d: *const LwsDll2) -> c_int {
        if d.is_null() {
            return Err(Fault::Null("d"));
        }
        // SAFETY: lws contract: a readable node.
        Ok(c_int::from(unsafe { detached(d) }))
    } ?= 0
}

export! {
    /// `lws_dll2_add_head`.
    fn lws_dll2_add_head(d: *mut LwsDll2, o: *mut LwsDll2Owner) {
        // SAFETY: lws contract: `d` is a node, `o` an owner.
        unsafe { addable(d) }?;
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: valid node and owner; the head is null or a member.
        unsafe {
            let head = (*o).head;
            if head.is_null() {
                link_tail(d, o);
            } else {
                link_before(d, head, o);
            }
        }
        Ok(())
    }
}

export! {
    /// `lws_dll2_add_tail`.
    fn lws_dll2_add_tail(d: *mut LwsDll2, o: *mut LwsDll2Owner) {
        // SAFETY: lws contract: `d` is a node, `o` an owner.
        unsafe { addable(d) }?;
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: valid node and owner.
        unsafe { link_tail(d, o) };
        Ok(())
    }
}

export! {
    /// `lws_dll2_add_before`: `d` goes in front of `after`, in its list.
    fn lws_dll2_add_before(d: *mut LwsDll2, after: *mut LwsDll2) {
        // SAFETY: lws contract: `d` is a node.
        unsafe { addable(d) }?;
        if after.is_null() {
            return Err(Fault::Null("after"));
        }
        // SAFETY: lws contract: `after` is a readable node.
        let o = unsafe { (*after).owner };
        if o.is_null() {
            return Err(Fault::Refused("`after` is in no list".into()));
        }
        // SAFETY: `after` is a member of `o` (its owner).
        unsafe { link_before(d, after, o) };
        Ok(())
    }
}

export! {
    /// `lws_dll2_remove`: harmless on a detached node.
    fn lws_dll2_remove(d: *mut LwsDll2) {
        if d.is_null() {
            return Err(Fault::Null("d"));
        }
        // SAFETY: lws contract: `d` is a node; when it has an owner, its
        // neighbours and owner are valid members of one list.
        unsafe {
            if detached(d) {
                return Ok(());
            }
            let o = (*d).owner;
            if !(*d).next.is_null() {
                (*(*d).next).prev = (*d).prev;
            }
            if !(*d).prev.is_null() {
                (*(*d).prev).next = (*d).next;
            }
            if !o.is_null() {
                if (*o).tail == d {
                    (*o).tail = (*d).prev;
                }
                if (*o).head == d {
                    (*o).head = (*d).next;
                }
                (*o).count = (*o).count.wrapping_sub(1);
            }
            (*d).prev = std::ptr::null_mut();
            (*d).next = std::ptr::null_mut();
            (*d).owner = std::ptr::null_mut();
        }
        Ok(())
    }
}

export! {
    /// `lws_dll2_clear`: the node forgets its list (without unlinking).
    fn lws_dll2_clear(d: *mut LwsDll2) {
        if d.is_null() {
            return Err(Fault::Null("d"));
        }
        // SAFETY: lws contract: a writable node.
        unsafe {
            (*d).prev = std::ptr::null_mut();
            (*d).next = std::ptr::null_mut();
            (*d).owner = std::ptr::null_mut();
        }
        Ok(())
    }
}

export! {
    /// `lws_dll2_owner_clear`: an empty list (members are not touched).
    fn lws_dll2_owner_clear(o: *mut LwsDll2Owner) {
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: lws contract: a writable owner.
        unsafe {
            (*o).head = std::ptr::null_mut();
            (*o).tail = std::ptr::null_mut();
            (*o).count = 0;
        }
        Ok(())
    }
}

export! {
    /// `lws_dll2_foreach_safe`: `cb` on each member, head first; `cb` may
    /// remove (or free) the node it is given. 1 when `cb` stopped the walk.
    fn lws_dll2_foreach_safe(
        o: *mut LwsDll2Owner,
        user: *mut c_void,
        cb: Option<ForeachCb>,
    ) -> c_int {
        let cb = cb.ok_or(Fault::Null("cb"))?;
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: lws contract: a valid owner whose members are valid; the
        // successor is read before `cb` may unlink or free the node.
        unsafe {
            let mut p = (*o).head;
            while !p.is_null() {
                let next = (*p).next;
                if cb(p, user) != 0 {
                    return Ok(1);
                }
                p = next;
            }
        }
        Ok(0)
    } ?= 0
}

/// The first member `m` of `o` with `before(m)` (then `d` goes in front of
/// it), else the tail: lws's sorted insertion.
///
/// # Safety
///
/// `d` is a detached node, `o` a valid owner with valid members.
unsafe fn add_sorted(
    d: *mut LwsDll2,
    o: *mut LwsDll2Owner,
    mut before: impl FnMut(*const LwsDll2) -> bool,
) {
    // SAFETY: valid list (our contract).
    unsafe {
        let mut p = (*o).head;
        while !p.is_null() {
            let next = (*p).next;
            if before(p) {
                link_before(d, p, o);
                return;
            }
            p = next;
        }
        link_tail(d, o);
    }
}

export! {
    /// `lws_dll2_add_sorted`: in front of the first member `i` for which
    /// `compare(i, d) >= 0` (the member first, as lws calls it), else last.
    fn lws_dll2_add_sorted(d: *mut LwsDll2, o: *mut LwsDll2Owner, compare: Option<Compare>) {
        let compare = compare.ok_or(Fault::Null("compare"))?;
        // SAFETY: lws contract: `d` is a node.
        unsafe { addable(d) }?;
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: valid detached node and owner; `compare` is the plugin's.
        unsafe { add_sorted(d, o, |i| compare(i, d) >= 0) };
        Ok(())
    }
}

export! {
    /// `lws_dll2_add_sorted_priv`: the same, `compare3` also gets `priv`.
    fn lws_dll2_add_sorted_priv(
        d: *mut LwsDll2,
        o: *mut LwsDll2Owner,
        private: *mut c_void,
        compare3: Option<Compare3>,
    ) {
        let compare = compare3.ok_or(Fault::Null("compare3"))?;
        // SAFETY: lws contract: `d` is a node.
        unsafe { addable(d) }?;
        if o.is_null() {
            return Err(Fault::Null("owner"));
        }
        // SAFETY: valid detached node and owner; `compare3` is the plugin's.
        unsafe { add_sorted(d, o, |i| compare(private, i, d) >= 0) };
        Ok(())
    }
}

export! {
    /// `_lws_dll2_search_sz_pl` (behind the `lws_dll2_search_sz_pl`
    /// macro): the member object whose `const char *` at `ptr_ofs` is
    /// exactly the `namelen` bytes of `name`, or NULL.
    fn _lws_dll2_search_sz_pl(
        o: *mut LwsDll2Owner,
        name: *const c_char,
        namelen: usize,
        dll2_ofs: usize,
        ptr_ofs: usize,
    ) -> *mut c_void {
        if o.is_null() || name.is_null() {
            return Err(Fault::Null("owner or name"));
        }
        // SAFETY: lws contract: `name` has `namelen` readable bytes.
        let want = unsafe { std::slice::from_raw_parts(name as *const u8, namelen) };
        // SAFETY: lws contract: each member is embedded at `dll2_ofs` in an
        // object holding a `const char *` (NULL or a C string) at `ptr_ofs`.
        unsafe {
            let mut p = (*o).head;
            while !p.is_null() {
                let obj = (p as *mut u8).wrapping_sub(dll2_ofs);
                let s = *(obj.wrapping_add(ptr_ofs) as *const *const c_char);
                if !s.is_null() && CStr::from_ptr(s).to_bytes() == want {
                    return Ok(obj as *mut c_void);
                }
                p = (*p).next;
            }
        }
        Ok(std::ptr::null_mut())
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_list_ptr_insert`: links `add` (a pointer to the new object's
    /// link member) into the list at `*phead`, before the first member
    /// `m` for which `sort(add, m) <= 0` (at the head without `sort`).
    fn lws_list_ptr_insert(phead: *mut *mut c_void, add: *mut *mut c_void, sort: Option<ListSort>) {
        if phead.is_null() || add.is_null() {
            return Err(Fault::Null("phead or add"));
        }
        // SAFETY: lws contract: `phead` is the list's head slot and each
        // link member is a `void *` slot holding the next member's link
        // member (or NULL); `add` is the new object's link member.
        unsafe {
            let mut head = phead;
            if let Some(sort) = sort {
                while !(*head).is_null() {
                    if sort(add as *mut c_void, *head) <= 0 {
                        break;
                    }
                    head = *head as *mut *mut c_void;
                }
            }
            *add = *head;
            *head = add as *mut c_void;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    struct Item {
        list: LwsDll2,
        v: i32,
    }

    fn node() -> LwsDll2 {
        LwsDll2 {
            prev: std::ptr::null_mut(),
            next: std::ptr::null_mut(),
            owner: std::ptr::null_mut(),
        }
    }

    unsafe extern "C" fn by_value(a: *const LwsDll2, b: *const LwsDll2) -> c_int {
        // SAFETY: the nodes are the first member of `Item`s (this test's).
        unsafe { (*(a as *const Item)).v - (*(b as *const Item)).v }
    }

    unsafe extern "C" fn drop_odd(d: *mut LwsDll2, _: *mut c_void) -> c_int {
        // SAFETY: as above; removing the node it is given is allowed.
        unsafe {
            if (*(d as *const Item)).v % 2 != 0 {
                lws_dll2_remove(d);
            }
        }
        0
    }

    /// The values from head to tail, checking every back link on the way.
    fn walk(o: &LwsDll2Owner) -> Vec<i32> {
        let mut out = Vec::new();
        let mut prev: *mut LwsDll2 = std::ptr::null_mut();
        let mut p = o.head;
        while !p.is_null() {
            // SAFETY: members are this test's live `Item`s.
            unsafe {
                assert_eq!((*p).prev, prev);
                out.push((*(p as *const Item)).v);
                prev = p;
                p = (*p).next;
            }
        }
        assert_eq!(o.tail, prev);
        assert_eq!(o.count as usize, out.len());
        out
    }

    /// lws's order: a sorted insert goes in front of the first member not
    /// smaller (equal values: the newest first); adding a member again is
    /// refused; foreach_safe may remove the node it is on.
    #[test]
    fn sorted_inserts_and_removal_keep_the_links() {
        let mut items: Vec<Item> = [3, 1, 4, 1, 5, 0, 9, 2]
            .iter()
            .map(|&v| Item { list: node(), v })
            .collect();
        let mut o = LwsDll2Owner {
            tail: std::ptr::null_mut(),
            head: std::ptr::null_mut(),
            count: 0,
        };
        let p: Vec<*mut LwsDll2> = items
            .iter_mut()
            .map(|i| &mut i.list as *mut LwsDll2)
            .collect();
        // SAFETY: the nodes and the owner live across the calls.
        unsafe {
            for &n in &p[..5] {
                lws_dll2_add_sorted(n, &mut o, Some(by_value));
            }
            assert_eq!(walk(&o), [1, 1, 3, 4, 5]);
            assert_eq!(o.head, p[3], "the later 1 goes first");
            lws_dll2_add_head(p[5], &mut o);
            lws_dll2_add_tail(p[6], &mut o);
            lws_dll2_add_before(p[7], p[0]);
            assert_eq!(walk(&o), [0, 1, 1, 2, 3, 4, 5, 9]);
            lws_dll2_add_tail(p[5], &mut o);
            assert_eq!(walk(&o), [0, 1, 1, 2, 3, 4, 5, 9], "refused");
            assert_eq!(
                lws_dll2_foreach_safe(&mut o, std::ptr::null_mut(), Some(drop_odd)),
                0
            );
            assert_eq!(walk(&o), [0, 2, 4]);
            assert_eq!(lws_dll2_is_detached(p[0]), 1);
            lws_dll2_remove(p[5]);
            lws_dll2_remove(p[6]);
            assert_eq!(walk(&o), [2, 4]);
        }
    }
}
