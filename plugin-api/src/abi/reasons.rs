//! `enum lws_callback_reasons`: the `LWS_CALLBACK_*` constants and
//! [`Reason`], from one table.

use std::ffi::c_int;

/// Declares the `LWS_CALLBACK_*` constants and [`Reason`] from one table.
macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $c_name:ident => $variant:ident = $val:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($c_name), "` = ", stringify!($val),
                            ": see [`Reason::", stringify!($variant), "`].")]
            pub const $c_name: c_int = $val;
        )*

        /// A callback reason (`enum lws_callback_reasons`) under a Rust name.
        /// The discriminant is the C value.
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $variant = $val,)*
        }

        impl Reason {
            /// Every reason, in increasing C value.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The reason for a C value; `None` for values lws does not
            /// define (such as a plugin's own `LWS_CALLBACK_USER + n`).
            pub const fn from_raw(raw: c_int) -> Option<Reason> {
                match raw {
                    $($val => Some(Reason::$variant),)*
                    _ => None,
                }
            }

            /// The C value.
            pub const fn as_raw(self) -> c_int {
                self as c_int
            }

            /// The C name, e.g. `"LWS_CALLBACK_SERVER_WRITEABLE"`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(Reason::$variant => stringify!($c_name),)*
                }
            }
        }
    };
}

reasons! {
    /// WebSocket handshake done; `len` bit 0 set means ws over HTTP/2.
    LWS_CALLBACK_ESTABLISHED => Established = 0,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_CONNECTION_ERROR => ClientConnectionError = 1,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH => ClientFilterPreEstablish = 2,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_ESTABLISHED => ClientEstablished = 3,
    /// WebSocket connection gone; the pss is still valid during the call.
    LWS_CALLBACK_CLOSED => Closed = 4,
    /// HTTP connection closed while bound to this protocol.
    LWS_CALLBACK_CLOSED_HTTP => ClosedHttp = 5,
    /// `in`/`len`: a piece of a received ws message.
    LWS_CALLBACK_RECEIVE => Receive = 6,
    /// `in`/`len`: payload of a received PONG.
    LWS_CALLBACK_RECEIVE_PONG => ReceivePong = 7,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_RECEIVE => ClientReceive = 8,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_RECEIVE_PONG => ClientReceivePong = 9,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_WRITEABLE => ClientWriteable = 10,
    /// The ws connection may send (one `lws_write`).
    LWS_CALLBACK_SERVER_WRITEABLE => ServerWriteable = 11,
    /// Request head parsed; `in`/`len`: the path after the mount point.
    LWS_CALLBACK_HTTP => Http = 12,
    /// `in`/`len`: a piece of the request body.
    LWS_CALLBACK_HTTP_BODY => HttpBody = 13,
    /// The whole request body has arrived.
    LWS_CALLBACK_HTTP_BODY_COMPLETION => HttpBodyCompletion = 14,
    /// `lws_serve_http_file` finished.
    LWS_CALLBACK_HTTP_FILE_COMPLETION => HttpFileCompletion = 15,
    /// The HTTP transaction may send (one `lws_write`).
    LWS_CALLBACK_HTTP_WRITEABLE => HttpWriteable = 16,
    /// New TCP connection (`protocols[0]` only); `in`: the fd.
    LWS_CALLBACK_FILTER_NETWORK_CONNECTION => FilterNetworkConnection = 17,
    /// Before dispatching a request; `in`: the URI; nonzero refuses.
    LWS_CALLBACK_FILTER_HTTP_CONNECTION => FilterHttpConnection = 18,
    /// A connection object exists (`protocols[0]` only).
    LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED => ServerNewClientInstantiated = 19,
    /// ws protocol chosen, before the 101; nonzero refuses.
    LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION => FilterProtocolConnection = 20,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS => OpensslLoadExtraClientVerifyCerts = 21,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS => OpensslLoadExtraServerVerifyCerts = 22,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION => OpensslPerformClientCertVerification = 23,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER => ClientAppendHandshakeHeader = 24,
    /// `in`: an offered ws extension name; nonzero refuses it.
    LWS_CALLBACK_CONFIRM_EXTENSION_OKAY => ConfirmExtensionOkay = 25,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED => ClientConfirmExtensionSupported = 26,
    /// Once per vhost and protocol at start; `in`: the pvo list (may be NULL).
    LWS_CALLBACK_PROTOCOL_INIT => ProtocolInit = 27,
    /// Once per vhost and protocol at shutdown (if init succeeded).
    LWS_CALLBACK_PROTOCOL_DESTROY => ProtocolDestroy = 28,
    /// Earliest event of a connection (`protocols[0]` only).
    LWS_CALLBACK_WSI_CREATE => WsiCreate = 29,
    /// Latest event of a connection (`protocols[0]` only).
    LWS_CALLBACK_WSI_DESTROY => WsiDestroy = 30,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_GET_THREAD_ID => GetThreadId = 31,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_ADD_POLL_FD => AddPollFd = 32,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_DEL_POLL_FD => DelPollFd = 33,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_CHANGE_MODE_POLL_FD => ChangeModePollFd = 34,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_LOCK_POLL => LockPoll = 35,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_UNLOCK_POLL => UnlockPoll = 36,
    /// TLS hook (lws <= 4.0 only).
    LWS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY => OpensslContextRequiresPrivateKey = 37,
    /// Peer sent CLOSE; `in`/`len`: status (network order) and reason.
    LWS_CALLBACK_WS_PEER_INITIATED_CLOSE => WsPeerInitiatedClose = 38,
    /// lws-internal or rarely used.
    LWS_CALLBACK_WS_EXT_DEFAULTS => WsExtDefaults = 39,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI => Cgi = 40,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_TERMINATED => CgiTerminated = 41,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_STDIN_DATA => CgiStdinData = 42,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_STDIN_COMPLETED => CgiStdinCompleted = 43,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP => EstablishedClientHttp = 44,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLOSED_CLIENT_HTTP => ClosedClientHttp = 45,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP => ReceiveClientHttp = 46,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_COMPLETED_CLIENT_HTTP => CompletedClientHttp = 47,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ => ReceiveClientHttpRead = 48,
    /// Transaction or upgrade bound to this protocol; pss freshly zeroed.
    LWS_CALLBACK_HTTP_BIND_PROTOCOL => HttpBindProtocol = 49,
    /// Unbinding from this protocol; free what the pss owns.
    LWS_CALLBACK_HTTP_DROP_PROTOCOL => HttpDropProtocol = 50,
    /// callback mounts: `in` is `LwsProcessHtmlArgs`; nonzero gives 401.
    LWS_CALLBACK_CHECK_ACCESS_RIGHTS => CheckAccessRights = 51,
    /// `interpret` mounts: `in` is `LwsProcessHtmlArgs` to rewrite.
    LWS_CALLBACK_PROCESS_HTML => ProcessHtml = 52,
    /// Add headers to a file response: `in` is `LwsProcessHtmlArgs`.
    LWS_CALLBACK_ADD_HEADERS => AddHeaders = 53,
    /// lws-internal or rarely used.
    LWS_CALLBACK_SESSION_INFO => SessionInfo = 54,
    /// lws-internal or rarely used.
    LWS_CALLBACK_GS_EVENT => GsEvent = 55,
    /// `in`: the mount's pmo list, before `Http`.
    LWS_CALLBACK_HTTP_PMO => HttpPmo = 56,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_HTTP_WRITEABLE => ClientHttpWriteable = 57,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION => OpensslPerformServerCertVerification = 58,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_RX => RawRx = 59,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CLOSE => RawClose = 60,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_WRITEABLE => RawWriteable = 61,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_ADOPT => RawAdopt = 62,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_ADOPT_FILE => RawAdoptFile = 63,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_RX_FILE => RawRxFile = 64,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_WRITEABLE_FILE => RawWriteableFile = 65,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CLOSE_FILE => RawCloseFile = 66,
    /// TLS hook.
    LWS_CALLBACK_SSL_INFO => SslInfo = 67,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CHILD_CLOSING => ChildClosing = 69,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_PROCESS_ATTACH => CgiProcessAttach = 70,
    /// To every protocol after `lws_cancel_service`.
    LWS_CALLBACK_EVENT_WAIT_CANCELLED => EventWaitCancelled = 71,
    /// Certificate lifetime / ACME.
    LWS_CALLBACK_VHOST_CERT_AGING => VhostCertAging = 72,
    /// `lws_set_timer_usecs` expired (one-shot).
    LWS_CALLBACK_TIMER => Timer = 73,
    /// Certificate lifetime / ACME.
    LWS_CALLBACK_VHOST_CERT_UPDATE => VhostCertUpdate = 74,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_CLIENT_CLOSED => ClientClosed = 75,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_DROP_PROTOCOL => ClientHttpDropProtocol = 76,
    /// ws role bound to this protocol.
    LWS_CALLBACK_WS_SERVER_BIND_PROTOCOL => WsServerBindProtocol = 77,
    /// ws role unbinding from this protocol.
    LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL => WsServerDropProtocol = 78,
    /// Client side; never sent by the host.
    LWS_CALLBACK_WS_CLIENT_BIND_PROTOCOL => WsClientBindProtocol = 79,
    /// Client side: a connection the plugin opened (`lws-client.h`).
    LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL => WsClientDropProtocol = 80,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_SKT_BIND_PROTOCOL => RawSktBindProtocol = 81,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_SKT_DROP_PROTOCOL => RawSktDropProtocol = 82,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_FILE_BIND_PROTOCOL => RawFileBindProtocol = 83,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_FILE_DROP_PROTOCOL => RawFileDropProtocol = 84,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_BIND_PROTOCOL => ClientHttpBindProtocol = 85,
    /// `protocols[0]`: `in` is "websocket" or "h2c"; <0 refuse, >0 replied, 0 allow.
    LWS_CALLBACK_HTTP_CONFIRM_UPGRADE => HttpConfirmUpgrade = 86,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_RX => RawProxyCliRx = 89,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_RX => RawProxySrvRx = 90,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_CLOSE => RawProxyCliClose = 91,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_CLOSE => RawProxySrvClose = 92,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_WRITEABLE => RawProxyCliWriteable = 93,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_WRITEABLE => RawProxySrvWriteable = 94,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_ADOPT => RawProxyCliAdopt = 95,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_ADOPT => RawProxySrvAdopt = 96,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_BIND_PROTOCOL => RawProxyCliBindProtocol = 97,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_BIND_PROTOCOL => RawProxySrvBindProtocol = 98,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_DROP_PROTOCOL => RawProxyCliDropProtocol = 99,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_DROP_PROTOCOL => RawProxySrvDropProtocol = 100,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CONNECTED => RawConnected = 101,
    /// `in`: "user:pass"; NONZERO ACCEPTS.
    LWS_CALLBACK_VERIFY_BASIC_AUTHORIZATION => VerifyBasicAuthorization = 102,
    /// Manual tx credit query.
    LWS_CALLBACK_WSI_TX_CREDIT_GET => WsiTxCreditGet = 103,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_REDIRECT => ClientHttpRedirect = 104,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CONNECTING => Connecting = 105,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_NEW_CLIENT_INSTANTIATED => MqttNewClientInstantiated = 200,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_IDLE => MqttIdle = 201,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_ESTABLISHED => MqttClientEstablished = 202,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_SUBSCRIBED => MqttSubscribed = 203,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_WRITEABLE => MqttClientWriteable = 204,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_RX => MqttClientRx = 205,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_UNSUBSCRIBED => MqttUnsubscribed = 206,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_DROP_PROTOCOL => MqttDropProtocol = 207,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_CLOSED => MqttClientClosed = 208,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_ACK => MqttAck = 209,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_RESEND => MqttResend = 210,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_UNSUBSCRIBE_TIMEOUT => MqttUnsubscribeTimeout = 211,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_SHADOW_TIMEOUT => MqttShadowTimeout = 212,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_QOS2_RX_COMPLETE => MqttQos2RxComplete = 213,
    /// lws main branch only.
    LWS_CALLBACK_HTTP_INTERCEPTOR_CHECK => HttpInterceptorCheck = 214,
    /// lws main branch: ask the protocol for its pss size.
    LWS_CALLBACK_GET_PSS_SIZE => GetPssSize = 215,
    /// lws-internal or rarely used.
    LWS_CALLBACK_DHT_VERB_DISPATCH => DhtVerbDispatch = 216,
    /// lws-internal or rarely used.
    LWS_CALLBACK_QT_SERVER_RECEIVE => QtServerReceive = 217,
    /// lws-internal or rarely used.
    LWS_CALLBACK_QT_CLIENT_RECEIVE => QtClientReceive = 218,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_ESTABLISHED_EARLY => ClientEstablishedEarly = 219,
    /// First value free for a plugin's own reasons.
    LWS_CALLBACK_USER => User = 1000,
}
