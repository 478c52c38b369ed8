//! Command line, as lwsws has it (`-c`, `-d`, `-n`, `-h`) plus what a modern
//! server is expected to offer (`--check-config`, `--version`, `--data-dir`).

use std::path::PathBuf;

use clap::Parser;

/// The lws default log mask: ERR | WARN | NOTICE | USER.
pub const DEFAULT_LOG_MASK: u32 = 1031;

/// `lwsws`: an lwsws-compatible web server hosting libwebsockets-style plugins.
#[derive(Debug, Parser)]
#[command(name = "lwsws", version, about)]
pub struct Args {
    /// Config directory: reads CONFIG_DIR/conf, then every file in CONFIG_DIR/conf.d/.
    #[arg(
        short = 'c',
        long = "config-dir",
        value_name = "CONFIG_DIR",
        default_value = "/etc/lwsws"
    )]
    pub config_dir: PathBuf,

    /// lws log bitmask: 1 ERR, 2 WARN, 4 NOTICE, 8 INFO, 16 DEBUG, 1024 USER
    /// (RUST_LOG, when set, takes precedence).
    #[arg(short = 'd', long = "debug", value_name = "LOG_MASK", default_value_t = DEFAULT_LOG_MASK)]
    pub log_mask: u32,

    /// Do not scan the built-in plugin directory.
    #[arg(short = 'n', long = "no-default-plugins")]
    pub no_default_plugins: bool,

    /// Validate the configuration and exit: 0 when valid, 1 with every problem listed.
    #[arg(long)]
    pub check_config: bool,

    /// With --check-config: problems of this machine (a user that does not
    /// exist, a log dir not there) are errors too, as they are for a start
    /// or a reload here. The systemd unit's ExecReload runs this first.
    #[arg(long, requires = "check_config")]
    pub strict: bool,

    /// GET URL (http:// only) and exit: 0 when it answers 200, 1 otherwise,
    /// printing the answer: a health check client for containers.
    #[arg(long, value_name = "URL")]
    pub probe: Option<String>,

    /// Value substituted for `_lws_ddir_` in vhost strings.
    #[arg(long, value_name = "DIR", default_value = "/usr/local/share")]
    pub data_dir: PathBuf,

    /// Print the manual page lwsws(8) (roff) and exit.
    #[arg(long, hide = true)]
    pub man: bool,

    /// Testing aid: bind every configured port to a port the OS picks instead
    /// (vhosts that share a configured port share the picked one); the bound
    /// addresses are logged as `listening on ADDR (port N: ...)`.
    #[arg(long, hide = true)]
    pub ephemeral_ports: bool,
}
