/*
 * Prints the layout of every struct in the plugin ABI and the value of every
 * constant, as the C compiler sees them through <libwebsockets.h>.
 * tests/header.rs compares the output with plugin-api/src/abi.rs.
 *
 * Lines:  size <type> <n> | align <type> <n> | offset <type>.<field> <n>
 *         const <NAME> <n> | str <NAME> <text>
 *
 * "abi_consts.inc" is written by the test from the Rust tables: one
 * DUMP(NAME) per Rust constant, so a constant missing from the header fails
 * to compile here.
 */

#include <libwebsockets.h>

#include <stdio.h>

#define SIZE(T) \
	printf("size %s %zu\n", #T, sizeof(T)); \
	printf("align %s %zu\n", #T, (size_t)__alignof__(T))
#define OFF(T, F) printf("offset %s.%s %zu\n", #T, #F, offsetof(T, F))
#define DUMP(N) printf("const %s %lld\n", #N, (long long)(N))
#define STR(N) printf("str %s %s\n", #N, N)

/* lws main branch's plugin header (magic 192): ours plus `priority`. */
struct lws_plugin_header_192 {
	const char *name;
	const char *_class;
	const char *lws_build_hash;
	unsigned int api_magic;
	unsigned int priority;
};

struct lws_plugin_protocol_192 {
	struct lws_plugin_header_192 hdr;
	const struct lws_protocols *protocols;
	const struct lws_extension *extensions;
	int count_protocols;
	int count_extensions;
};

int
main(void)
{
	SIZE(struct lws_protocols);
	OFF(struct lws_protocols, name);
	OFF(struct lws_protocols, callback);
	OFF(struct lws_protocols, per_session_data_size);
	OFF(struct lws_protocols, rx_buffer_size);
	OFF(struct lws_protocols, id);
	OFF(struct lws_protocols, user);
	OFF(struct lws_protocols, tx_packet_size);

	SIZE(struct lws_plugin_capability);
	OFF(struct lws_plugin_capability, api_magic);
	OFF(struct lws_plugin_capability, protocols);
	OFF(struct lws_plugin_capability, count_protocols);
	OFF(struct lws_plugin_capability, extensions);
	OFF(struct lws_plugin_capability, count_extensions);

	SIZE(lws_plugin_header_t);
	OFF(lws_plugin_header_t, name);
	OFF(lws_plugin_header_t, _class);
	OFF(lws_plugin_header_t, lws_build_hash);
	OFF(lws_plugin_header_t, api_magic);

	SIZE(struct lws_plugin_header_192);
	OFF(struct lws_plugin_header_192, name);
	OFF(struct lws_plugin_header_192, _class);
	OFF(struct lws_plugin_header_192, lws_build_hash);
	OFF(struct lws_plugin_header_192, api_magic);
	OFF(struct lws_plugin_header_192, priority);

	SIZE(lws_plugin_protocol_t);
	OFF(lws_plugin_protocol_t, hdr);
	OFF(lws_plugin_protocol_t, protocols);
	OFF(lws_plugin_protocol_t, extensions);
	OFF(lws_plugin_protocol_t, count_protocols);
	OFF(lws_plugin_protocol_t, count_extensions);

	SIZE(struct lws_plugin_protocol_192);
	OFF(struct lws_plugin_protocol_192, hdr);
	OFF(struct lws_plugin_protocol_192, protocols);
	OFF(struct lws_plugin_protocol_192, extensions);
	OFF(struct lws_plugin_protocol_192, count_protocols);
	OFF(struct lws_plugin_protocol_192, count_extensions);

	SIZE(struct lws_protocol_vhost_options);
	OFF(struct lws_protocol_vhost_options, next);
	OFF(struct lws_protocol_vhost_options, options);
	OFF(struct lws_protocol_vhost_options, name);
	OFF(struct lws_protocol_vhost_options, value);

	SIZE(struct lws_dll2);
	OFF(struct lws_dll2, prev);
	OFF(struct lws_dll2, next);
	OFF(struct lws_dll2, owner);

	SIZE(struct lws_dll2_owner);
	OFF(struct lws_dll2_owner, tail);
	OFF(struct lws_dll2_owner, head);
	OFF(struct lws_dll2_owner, count);

	SIZE(lws_sorted_usec_list_t);
	OFF(lws_sorted_usec_list_t, list);
	OFF(lws_sorted_usec_list_t, us);
	OFF(lws_sorted_usec_list_t, cb);
	OFF(lws_sorted_usec_list_t, latency_us);

	SIZE(struct lws_process_html_args);
	OFF(struct lws_process_html_args, p);
	OFF(struct lws_process_html_args, len);
	OFF(struct lws_process_html_args, max_len);
	OFF(struct lws_process_html_args, final);
	OFF(struct lws_process_html_args, chunked);

	SIZE(lws_spa_create_info_t);
	OFF(lws_spa_create_info_t, param_names);
	OFF(lws_spa_create_info_t, count_params);
	OFF(lws_spa_create_info_t, max_storage);
	OFF(lws_spa_create_info_t, opt_cb);
	OFF(lws_spa_create_info_t, opt_data);
	OFF(lws_spa_create_info_t, param_names_stride);
	OFF(lws_spa_create_info_t, ac);
	OFF(lws_spa_create_info_t, ac_chunk_size);

	SIZE(struct lws_client_connect_info);
	OFF(struct lws_client_connect_info, address);
	OFF(struct lws_client_connect_info, port);
	OFF(struct lws_client_connect_info, ssl_connection);
	OFF(struct lws_client_connect_info, path);
	OFF(struct lws_client_connect_info, protocol);
	OFF(struct lws_client_connect_info, userdata);
	OFF(struct lws_client_connect_info, method);
	OFF(struct lws_client_connect_info, vhost);
	OFF(struct lws_client_connect_info, pwsi);
	OFF(struct lws_client_connect_info, local_protocol_name);
	OFF(struct lws_client_connect_info, opaque_user_data);
	OFF(struct lws_client_connect_info, priority);
	OFF(struct lws_client_connect_info, keep_warm_secs);
	OFF(struct lws_client_connect_info, log_cx);
	OFF(struct lws_client_connect_info, _unused);

	SIZE(union lws_tls_cert_info_results);
	OFF(union lws_tls_cert_info_results, verified);
	OFF(union lws_tls_cert_info_results, time);
	OFF(union lws_tls_cert_info_results, usage);
	OFF(union lws_tls_cert_info_results, ns.len);
	OFF(union lws_tls_cert_info_results, ns.name);

	SIZE(struct lws_tokenize);
	OFF(struct lws_tokenize, start);
	OFF(struct lws_tokenize, token);
	OFF(struct lws_tokenize, len);
	OFF(struct lws_tokenize, token_len);
	OFF(struct lws_tokenize, flags);
	OFF(struct lws_tokenize, delim);
	OFF(struct lws_tokenize, e);

	SIZE(struct lws_dir_entry);
	OFF(struct lws_dir_entry, name);
	OFF(struct lws_dir_entry, type);

	SIZE(lws_dir_glob_t);
	OFF(lws_dir_glob_t, filter);
	OFF(lws_dir_glob_t, cb);
	OFF(lws_dir_glob_t, user);

	/* (the cache_* ... no_ws_upgrades bit fields share byte 76) */
	SIZE(struct lws_http_mount);
	OFF(struct lws_http_mount, mount_next);
	OFF(struct lws_http_mount, mountpoint);
	OFF(struct lws_http_mount, origin);
	OFF(struct lws_http_mount, def);
	OFF(struct lws_http_mount, protocol);
	OFF(struct lws_http_mount, cgienv);
	OFF(struct lws_http_mount, extra_mimetypes);
	OFF(struct lws_http_mount, interpret);
	OFF(struct lws_http_mount, cgi_timeout);
	OFF(struct lws_http_mount, cache_max_age);
	OFF(struct lws_http_mount, auth_mask);
	OFF(struct lws_http_mount, origin_protocol);
	OFF(struct lws_http_mount, mountpoint_len);
	OFF(struct lws_http_mount, basic_auth_login_file);
	OFF(struct lws_http_mount, cgi_chroot_path);
	OFF(struct lws_http_mount, cgi_wd);
	OFF(struct lws_http_mount, headers);
	OFF(struct lws_http_mount, keepalive_timeout);
	OFF(struct lws_http_mount, interceptor_path);
	OFF(struct lws_http_mount, max_http_body_size);
	SIZE(lws_adopt_desc_t);
	OFF(lws_adopt_desc_t, vh);
	OFF(lws_adopt_desc_t, type);
	OFF(lws_adopt_desc_t, fd);
	OFF(lws_adopt_desc_t, vh_prot_name);
	OFF(lws_adopt_desc_t, parent);
	OFF(lws_adopt_desc_t, opaque);
	OFF(lws_adopt_desc_t, fi_wsi_name);
	SIZE(lws_sock_file_fd_type);
	SIZE(struct lws_threadpool_create_args);
	OFF(struct lws_threadpool_create_args, threads);
	OFF(struct lws_threadpool_create_args, max_queue_depth);
	SIZE(struct lws_threadpool_task_args);
	OFF(struct lws_threadpool_task_args, wsi);
	OFF(struct lws_threadpool_task_args, user);
	OFF(struct lws_threadpool_task_args, name);
	OFF(struct lws_threadpool_task_args, async_task);
	OFF(struct lws_threadpool_task_args, task);
	OFF(struct lws_threadpool_task_args, cleanup);

	SIZE(lws_usec_t);
	SIZE(enum lws_callback_reasons);
	SIZE(enum lws_write_protocol);
	SIZE(enum lws_token_indexes);

#include "abi_consts.inc"

	STR(LWS_BUILD_HASH);

	return 0;
}
