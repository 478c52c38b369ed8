//! One integration binary (less linking on a 2-core CI): every test starts
//! the real `lwsws` on OS-picked loopback ports and talks to it as a client.

mod support;

mod compat_chromium;
mod compat_lws_client;
mod config_check;
mod http_callback;
mod http_cgi;
mod http_corpus;
mod http_paths;
mod http_post_demo;
mod http_static;
mod http_static_cache;
mod http_vhosts;
mod ops_access_log;
mod ops_hardening;
mod ops_health;
mod ops_lifecycle;
mod ops_metrics;
mod ops_packaging;
mod ops_privs;
mod ops_reload;
mod ops_systemd;
mod ops_tls;
mod packet;
mod plugin_abi;
mod plugin_client;
mod plugin_helpers;
mod plugin_image;
mod plugin_load;
mod plugin_raw;
mod plugin_threadpool;
mod plugin_uv;
mod ws_conformance;
mod ws_deflate;
mod ws_dumb_increment;
mod ws_host;
mod ws_mirror_fairness;
mod ws_pass_order;
mod ws_plugins;
mod ws_queued;
mod ws_server_status;
