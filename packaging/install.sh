#!/bin/sh
# Installs Comlink's lwsws the way lwsws is installed: the binary, the plugins
# and the test-server data under $PREFIX, /etc/lwsws, the systemd unit, the
# logrotate file, /var/log/lwsws, and the plugin SDK (libwebsockets.h, a
# libwebsockets.so to link plugins with, libwebsockets.pc, a CMake config).
#
#   packaging/install.sh               build what is missing, then install
#   packaging/install.sh --build-only  only build (the Dockerfile's builder)
#   DESTDIR=/tmp/root packaging/install.sh   stage into a directory, as any user
#
# Settings (environment), with their defaults:
#   DESTDIR=            staging root, prefixed to every path below
#   PREFIX=/usr/local   bin/, lib/, include/, share/
#   SYSCONFDIR=/etc     lwsws/ and logrotate.d/
#   LOCALSTATEDIR=/var  log/lwsws (LOG_DIR) and lib/lwsws (STATE_DIR)
#   SYSTEMD_UNIT_DIR=$PREFIX/lib/systemd/system   (searched by systemd for
#                       PREFIX /usr/local and /usr; else use /etc/systemd/system)
#   SERVICE_USER=lwsws, SERVICE_GROUP=$SERVICE_USER   written into
#                       /etc/lwsws/conf as "username"/"groupname"; created
#                       (system user) when installing as root without DESTDIR
#   PROFILE=release, TARGET_DIR=${CARGO_TARGET_DIR:-<repo>/target}/$PROFILE
#                       where `cargo build --workspace` left lwsws and plugins
#   NO_BUILD=1          never run cargo: its output must already exist
#   CC=cc               compiler for the SDK's link stub (not needed when the
#                       stub was built before, e.g. by --build-only)
#   STRIP=strip         makes the installed copies of lwsws and the plugins
#                       (in TARGET_DIR/stripped; the build keeps its symbols
#                       for perf); not needed when they were made before
#
# Files under /etc are configuration: an existing one is never overwritten.
# A newer default is written next to it instead (conf.dist,
# conf.d.dist/<name>, logrotate.d/lwsws.dpkg-dist) and reported at the end.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
SELF="$REPO/packaging/install.sh"

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
LOCALSTATEDIR=${LOCALSTATEDIR:-/var}
SYSTEMD_UNIT_DIR=${SYSTEMD_UNIT_DIR:-$PREFIX/lib/systemd/system}
LOGROTATE_DIR=${LOGROTATE_DIR:-$SYSCONFDIR/logrotate.d}
SERVICE_USER=${SERVICE_USER:-lwsws}
SERVICE_GROUP=${SERVICE_GROUP:-$SERVICE_USER}
LOG_DIR=${LOG_DIR:-$LOCALSTATEDIR/log/lwsws}
STATE_DIR=${STATE_DIR:-$LOCALSTATEDIR/lib/lwsws}
PROFILE=${PROFILE:-release}
TARGET_DIR=${TARGET_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/$PROFILE}
NO_BUILD=${NO_BUILD:-0}
CC=${CC:-cc}
STRIP=${STRIP:-strip}

# libwebsockets 4.3's soname: plugins built against lws 4.3 ask for it.
LWS_SOVERSION=19
INCLUDE_SRC="$REPO/plugin-api/include"
DATA_SRC="$REPO/data/libwebsockets-test-server"
SDK_DIR="$TARGET_DIR/sdk"
STRIPPED_DIR="$TARGET_DIR/stripped"
MAN_PAGE="$TARGET_DIR/man/lwsws.8"
STUB_SO="$SDK_DIR/libwebsockets.so.$LWS_SOVERSION"

BUILD_ONLY=0
for arg in "$@"; do
	case $arg in
	--build-only) BUILD_ONLY=1 ;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install.sh: unknown argument $arg (see --help)" >&2
		exit 2
		;;
	esac
done

say() { printf 'install.sh: %s\n' "$*"; }
die() {
	printf 'install.sh: error: %s\n' "$*" >&2
	exit 1
}
NOTES=""
note() {
	NOTES="$NOTES
  $*"
}

# The workspace plugins' library names (the [lib] name of plugins/*/Cargo.toml).
plugin_libs() {
	for toml in "$REPO"/plugins/*/Cargo.toml; do
		[ -f "$toml" ] || continue
		sed -n '/^\[lib\]/,/^\[/s/^name *= *"\(.*\)".*/\1/p' "$toml"
	done
}

cargo_outputs_present() {
	[ -x "$TARGET_DIR/lwsws" ] || return 1
	for lib in $(plugin_libs); do
		[ -f "$TARGET_DIR/lib$lib.so" ] || return 1
	done
}

build_cargo() {
	if cargo_outputs_present; then
		return 0
	fi
	if [ "$NO_BUILD" = 1 ]; then
		die "NO_BUILD=1 but $TARGET_DIR lacks lwsws or a plugin: run \`cargo build --release --workspace\` first (or set TARGET_DIR)"
	fi
	command -v cargo >/dev/null 2>&1 ||
		die "cargo not found and $TARGET_DIR/lwsws is missing: build with \`cargo build --release --workspace\` first"
	case $PROFILE in
	release) set -- --release ;;
	debug) set -- ;;
	*) set -- --profile "$PROFILE" ;;
	esac
	say "building: cargo build --locked --workspace${*:+ $*}"
	(cd "$REPO" && cargo build --locked --workspace "$@")
	cargo_outputs_present || die "cargo did not leave lwsws and the plugins in $TARGET_DIR (set TARGET_DIR)"
}

# Every host function the plugin header declares (`LWS_VISIBLE LWS_EXTERN ...
# name(`), comments removed: the same parse as server/tests/plugin_abi.rs,
# which checks that lwsws exports each of them.
declared_functions() {
	cat "$INCLUDE_SRC/libwebsockets.h" "$INCLUDE_SRC"/libwebsockets/*.h |
		perl -0777 -ne 's{/\*.*?\*/}{}gs;
			print "$1\n" while /LWS_VISIBLE\s+LWS_EXTERN[^;{(]*?\b([a-z_][a-z0-9_]*)\s*\(/g' |
		sort -u
}

# The link stub: one function per declared host function, each of which
# aborts with a message. Plugins link against it (-lwebsockets) only to
# satisfy the linker; at run time lwsws (linked -rdynamic, and first in the
# global symbol scope) provides every one of these symbols, so the stub's
# code never runs inside lwsws.
stub_source() {
	cat <<'EOF'
/* Generated by packaging/install.sh from plugin-api/include: do not edit.
 *
 * Comlink's libwebsockets.so is a LINK STUB. Plugins link with -lwebsockets
 * so that lws-style build files work unchanged; at run time the plugin is
 * loaded by lwsws, whose own (exported) functions come first in the global
 * symbol scope and are the ones the plugin calls. These bodies only run if
 * the plugin is loaded by some other program, and then they abort.
 */
#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noreturn))
comlink_sdk_stub_called(const char *fn)
{
	fprintf(stderr, "libwebsockets.so (Comlink SDK link stub): %s() called; "
		"plugins must be loaded by lwsws, which provides %s()\n", fn, fn);
	abort();
}

#define STUB(fn) \
	void fn(void) __attribute__((visibility("default"))); \
	void fn(void) { comlink_sdk_stub_called(#fn); }

EOF
	declared_functions | sed 's/.*/STUB(&)/'
}

build_stub() {
	if [ -f "$STUB_SO" ] && [ -z "$(find "$INCLUDE_SRC" "$SELF" -newer "$STUB_SO" -print | head -n 1)" ]; then
		return 0
	fi
	if ! command -v "$CC" >/dev/null 2>&1 || ! command -v perl >/dev/null 2>&1; then
		[ -f "$STUB_SO" ] || die "no C compiler ($CC) or perl to build the SDK stub $STUB_SO: run \`packaging/install.sh --build-only\` where they exist"
		say "warning: $STUB_SO is older than the headers, and $CC or perl is missing: installing it as it is"
		return 0
	fi
	[ "$("$CC" -print-file-name=libuv.so.1)" != libuv.so.1 ] ||
		die "libuv.so.1 not found, which the SDK stub links: install libuv (Debian: apt install libuv1-dev)"
	mkdir -p "$SDK_DIR"
	n=$(declared_functions | wc -l)
	[ "$n" -gt 0 ] || die "found no LWS_VISIBLE LWS_EXTERN functions in $INCLUDE_SRC"
	say "building the SDK link stub $STUB_SO ($n functions)"
	# Temporary names and mv: concurrent runs never see half a file.
	stub_c="$SDK_DIR/libwebsockets-stub.c"
	stub_source >"$stub_c.$$"
	mv -f "$stub_c.$$" "$stub_c"
	# It needs libuv.so.1 (Debian's libuv1), as lws built with libuv does:
	# a plugin using lws's libuv integration that links only -lwebsockets
	# (lws's plugin-standalone) gets libuv's functions through it.
	"$CC" -shared -fPIC -O2 -Wall -Wl,-soname,"libwebsockets.so.$LWS_SOVERSION" \
		-o "$STUB_SO.$$" "$stub_c" -Wl,--no-as-needed -l:libuv.so.1
	mv -f "$STUB_SO.$$" "$STUB_SO"
}

# The files installed from the cargo build: lwsws and the plugins.
built_files() {
	echo lwsws
	plugin_libs | sed 's/.*/lib&.so/'
}

# Stripped copies of them in $STRIPPED_DIR: no debug line tables, no static
# symbol table (a plugin shrinks from megabytes to a few hundred KiB). The
# dynamic symbols stay: lwsws exports the host functions plugins call, and
# each plugin its init symbol. The build in $TARGET_DIR keeps everything,
# for perf and backtraces. Made by --build-only too, so an image without
# binutils installs them as they are.
build_stripped() {
	mkdir -p "$STRIPPED_DIR"
	for name in $(built_files); do
		src="$TARGET_DIR/$name"
		dst="$STRIPPED_DIR/$name"
		if [ -f "$dst" ] && ! [ "$src" -nt "$dst" ]; then
			continue
		fi
		if ! command -v "$STRIP" >/dev/null 2>&1; then
			say "warning: no $STRIP (binutils): $name is installed with its debug info"
			note "installed $name unstripped: run \`packaging/install.sh --build-only\` where binutils exist to shrink it"
			continue
		fi
		"$STRIP" --strip-unneeded --remove-section=.comment -o "$dst.$$" "$src"
		mv -f "$dst.$$" "$dst"
	done
}

# lwsws(8), generated from the command line's definition (`lwsws --man`).
build_man() {
	if [ -f "$MAN_PAGE" ] && ! [ "$TARGET_DIR/lwsws" -nt "$MAN_PAGE" ]; then
		return 0
	fi
	mkdir -p "$(dirname "$MAN_PAGE")"
	"$TARGET_DIR/lwsws" --man >"$MAN_PAGE.$$"
	mv -f "$MAN_PAGE.$$" "$MAN_PAGE"
}

# The file to install for NAME: its stripped copy when that is current.
installable() {
	if [ -f "$STRIPPED_DIR/$1" ] && ! [ "$TARGET_DIR/$1" -nt "$STRIPPED_DIR/$1" ]; then
		echo "$STRIPPED_DIR/$1"
	else
		echo "$TARGET_DIR/$1"
	fi
}

header_version() {
	maj=$(sed -n 's/^#define LWS_LIBRARY_VERSION_MAJOR \([0-9]*\).*/\1/p' "$INCLUDE_SRC/libwebsockets.h")
	min=$(sed -n 's/^#define LWS_LIBRARY_VERSION_MINOR \([0-9]*\).*/\1/p' "$INCLUDE_SRC/libwebsockets.h")
	pat=$(sed -n 's/^#define LWS_LIBRARY_VERSION_PATCH \([0-9]*\).*/\1/p' "$INCLUDE_SRC/libwebsockets.h")
	echo "${maj:-4}.${min:-3}.${pat:-0}"
}

# Substitutes the @...@ placeholders of packaging/etc templates.
subst() {
	sed -e "s#@SERVICE_USER@#$SERVICE_USER#g" \
		-e "s#@SERVICE_GROUP@#$SERVICE_GROUP#g" \
		-e "s#@LOG_DIR@#$LOG_DIR#g" \
		-e "s#@STATE_DIR@#$STATE_DIR#g" \
		-e "s#@PREFIX@#$PREFIX#g" "$1"
}

# install_config GENERATED DEST DIST: installs a config file unless the
# administrator's DEST exists and differs; then the new default goes to DIST.
install_config() {
	if [ ! -e "$2" ]; then
		install -m 0644 "$1" "$2"
		say "installed $2"
	elif cmp -s "$1" "$2"; then
		say "unchanged $2"
	else
		install -d -m 0755 "$(dirname "$3")"
		install -m 0644 "$1" "$3"
		say "kept $2 (locally changed); the new default is $3"
		note "kept ${2#"$DESTDIR"}; compare it with the new default ${3#"$DESTDIR"}"
	fi
}

# ---------------------------------------------------------------- build

build_cargo
build_stub
build_stripped
build_man
if [ "$BUILD_ONLY" = 1 ]; then
	say "build done: $TARGET_DIR/lwsws, $(plugin_libs | wc -l) plugins (stripped copies in $STRIPPED_DIR), $STUB_SO"
	exit 0
fi

# -------------------------------------------------------------- install

D=$DESTDIR
umask 022
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lwsws-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
SHARE="$PREFIX/share/libwebsockets-test-server"

install -d -m 0755 "$D$PREFIX/bin" "$D$SHARE/plugins" "$D$PREFIX/include/libwebsockets" \
	"$D$PREFIX/lib/pkgconfig" "$D$SYSCONFDIR/lwsws/conf.d" "$D$SYSTEMD_UNIT_DIR" \
	"$D$LOGROTATE_DIR" "$D$PREFIX/share/doc/lwsws" "$D$PREFIX/share/man/man8"

# The server.
install -m 0755 "$(installable lwsws)" "$D$PREFIX/bin/lwsws"
say "installed $D$PREFIX/bin/lwsws"

# The plugins, to lwsws's built-in plugin dir.
for lib in $(plugin_libs); do
	install -m 0755 "$(installable "lib$lib.so")" "$D$SHARE/plugins/lib$lib.so"
done
say "installed $(plugin_libs | wc -l | tr -d ' ') plugins in $D$SHARE/plugins"

# The data dir (_lws_ddir_/libwebsockets-test-server): test page, CGI script.
cp -R "$DATA_SRC/." "$D$SHARE/"
chmod -R u+rwX,go+rX,go-w "$D$SHARE"
say "installed the data dir $D$SHARE"

# The plugin SDK: headers, the link stub with its soname and dev symlinks,
# pkg-config file.
install -m 0644 "$INCLUDE_SRC/libwebsockets.h" "$D$PREFIX/include/libwebsockets.h"
for h in "$INCLUDE_SRC"/libwebsockets/*.h; do
	install -m 0644 "$h" "$D$PREFIX/include/libwebsockets/$(basename "$h")"
done
install -m 0755 "$STUB_SO" "$D$PREFIX/lib/libwebsockets.so.$LWS_SOVERSION"
ln -sf "libwebsockets.so.$LWS_SOVERSION" "$D$PREFIX/lib/libwebsockets.so"
cat >"$D$PREFIX/lib/pkgconfig/libwebsockets.pc" <<EOF
prefix=$PREFIX
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: libwebsockets
Description: Comlink plugin SDK: lws-compatible plugin header and a link stub (lwsws provides the functions at run time); libuv for lws_uv_getloop
Version: $(header_version)
Libs: -L\${libdir} -lwebsockets -l:libuv.so.1
Cflags: -I\${includedir}
EOF
# find_package(libwebsockets CONFIG), as lws v4.1+'s plugin-standalone
# CMakeLists calls it (before project(), then links -lwebsockets and
# LIBWEBSOCKETS_DEP_LIBS). Paths relative to the file: a staged SDK works.
install -d -m 0755 "$D$PREFIX/lib/cmake/libwebsockets"
cat >"$D$PREFIX/lib/cmake/libwebsockets/libwebsockets-config.cmake" <<'EOF'
# Comlink plugin SDK for find_package(libwebsockets CONFIG), written by
# Comlink's packaging/install.sh. libwebsockets.so is a link stub: lwsws,
# which loads the plugin, provides every lws function at run time.
#   LIBWEBSOCKETS_INCLUDE_DIRS  where libwebsockets.h is (also added with
#                               include_directories)
#   LIBWEBSOCKETS_LIBRARIES     the stub's path (lws's is imported targets;
#                               lws's CMakeLists call this before project(),
#                               when CMake makes no shared imported target)
#   LIBWEBSOCKETS_DEP_LIBS      what plugins link besides -lwebsockets:
#                               libuv, for lws_uv_getloop
get_filename_component(_comlink_lws_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(LIBWEBSOCKETS_INCLUDE_DIRS "${_comlink_lws_prefix}/include")
set(LIBWEBSOCKETS_LIBRARIES "${_comlink_lws_prefix}/lib/libwebsockets.so")
set(LIBWEBSOCKETS_DEP_LIBS "-l:libuv.so.1")
include_directories("${_comlink_lws_prefix}/include")
# Plugins link with a bare -lwebsockets: let the linker find this one.
link_directories("${_comlink_lws_prefix}/lib")
unset(_comlink_lws_prefix)
EOF
say "installed the plugin SDK: $D$PREFIX/include/libwebsockets.h, $D$PREFIX/lib/libwebsockets.so, $D$PREFIX/lib/pkgconfig/libwebsockets.pc, $D$PREFIX/lib/cmake/libwebsockets/libwebsockets-config.cmake"

# Configuration: never overwritten.
subst "$REPO/packaging/etc/lwsws/conf" >"$TMP/conf"
install_config "$TMP/conf" "$D$SYSCONFDIR/lwsws/conf" "$D$SYSCONFDIR/lwsws/conf.dist"
for f in "$REPO"/packaging/etc/lwsws/conf.d/*; do
	name=$(basename "$f")
	subst "$f" >"$TMP/$name"
	# conf.d/ reads every file in it: a new default cannot sit there.
	install_config "$TMP/$name" "$D$SYSCONFDIR/lwsws/conf.d/$name" "$D$SYSCONFDIR/lwsws/conf.d.dist/$name"
done

# The systemd unit (a packaged file: overwritten; change it with drop-ins).
exec_start="$PREFIX/bin/lwsws"
[ "$SYSCONFDIR" = /etc ] || exec_start="$exec_start -c $SYSCONFDIR/lwsws"
[ "$PREFIX" = /usr/local ] || exec_start="$exec_start --data-dir $PREFIX/share"
sed -e "s#^ExecStart=/usr/local/bin/lwsws\$#ExecStart=$exec_start#" \
	-e "s#^ExecReload=/usr/local/bin/lwsws #ExecReload=$exec_start #" \
	-e "s#/var/log/lwsws#$LOG_DIR#g" -e "s#/var/lib/lwsws#$STATE_DIR#g" \
	-e "s#/etc/lwsws#$SYSCONFDIR/lwsws#g" \
	"$REPO/packaging/lwsws.service" >"$TMP/lwsws.service"
install -m 0644 "$TMP/lwsws.service" "$D$SYSTEMD_UNIT_DIR/lwsws.service"
say "installed $D$SYSTEMD_UNIT_DIR/lwsws.service"

# logrotate (configuration: kept when changed; logrotate skips *.dpkg-dist).
sed -e "s#/var/log/lwsws#$LOG_DIR#g" "$REPO/packaging/lwsws.logrotate" >"$TMP/lwsws.logrotate"
install_config "$TMP/lwsws.logrotate" "$D$LOGROTATE_DIR/lwsws" "$D$LOGROTATE_DIR/lwsws.dpkg-dist"

install -m 0644 "$REPO/packaging/README.md" "$D$PREFIX/share/doc/lwsws/README.md"
install -m 0644 "$MAN_PAGE" "$D$PREFIX/share/man/man8/lwsws.8"

# Log and state dirs: only the service user (and root) get in.
install -d -m 0700 "$D$LOG_DIR"
install -d -m 0750 "$D$STATE_DIR"

# A real system install (root, no DESTDIR): the service user, ownership of
# its dirs, the dynamic linker cache for libwebsockets.so.
if [ -z "$D" ] && [ "$(id -u)" -eq 0 ]; then
	if [ "$SERVICE_USER" != root ]; then
		if ! getent group "$SERVICE_GROUP" >/dev/null 2>&1; then
			groupadd --system "$SERVICE_GROUP"
			say "created system group $SERVICE_GROUP"
		fi
		if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
			useradd --system --gid "$SERVICE_GROUP" --no-create-home \
				--home-dir "$STATE_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
			say "created system user $SERVICE_USER"
		fi
		# lwsws reopens its access logs as this user after a rotation.
		chown "$SERVICE_USER:$SERVICE_GROUP" "$LOG_DIR" "$STATE_DIR"
	fi
	if command -v ldconfig >/dev/null 2>&1; then
		ldconfig
		ldconfig -p | grep -q "$PREFIX/lib/libwebsockets.so.$LWS_SOVERSION" ||
			note "$PREFIX/lib is not in the dynamic linker's path: C plugins linked with -lwebsockets need it (add it to /etc/ld.so.conf.d/ and run ldconfig)"
	fi
	if [ -d /run/systemd/system ]; then
		note "systemd: systemctl daemon-reload && systemctl enable --now lwsws.service"
	fi
fi

say "done${D:+ (staged in $D)}"
if [ -n "$NOTES" ]; then
	printf 'install.sh: NOTE:%s\n' "$NOTES"
fi
