#!/bin/sh
# Installs a build of sgxemu (what `make install` runs):
#   scripts/install.sh BUILD DESTDIR PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR SHIMDIR BASHCOMPDIR \
#       PKGCONFIGDIR VERSION [DATADIR]
# Every directory but DESTDIR is where the files will be at run time; DESTDIR (may be empty) is
# prepended to each while copying, for staging and packaging. The preload and its boot shim go
# into LIBDIR side by side: the preload finds the shim next to itself.
set -eu
if [ $# -ne 11 ] && [ $# -ne 12 ]; then
	echo "usage: $0 BUILD DESTDIR PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR SHIMDIR BASHCOMPDIR PKGCONFIGDIR VERSION [DATADIR]" >&2
	exit 2
fi
BUILD=$1 DESTDIR=$2 PREFIX=$3 BINDIR=$4 LIBDIR=$5 INCLUDEDIR=$6 MANDIR=$7 SHIMDIR=$8
BASHCOMPDIR=$9 PKGCONFIGDIR=${10} VERSION=${11} DATADIR=${12:-$PREFIX/share}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

for f in sgxemu libsgxemu.so libsgxemu-boot.so shim/cpuid.h man/sgxemu.1 completion/sgxemu \
	sgxemu-gdb.py; do
	[ -f "$BUILD/$f" ] || { echo "$0: $BUILD/$f is missing (run make first)" >&2; exit 1; }
done

install -d "$DESTDIR$BINDIR" "$DESTDIR$LIBDIR" "$DESTDIR$INCLUDEDIR" "$DESTDIR$MANDIR/man1" \
	"$DESTDIR$SHIMDIR" "$DESTDIR$BASHCOMPDIR" "$DESTDIR$PKGCONFIGDIR" "$DESTDIR$DATADIR/sgxemu"
install -m 0755 "$BUILD/sgxemu" "$DESTDIR$BINDIR/sgxemu"
install -m 0755 "$BUILD/libsgxemu.so" "$DESTDIR$LIBDIR/libsgxemu.so"
install -m 0755 "$BUILD/libsgxemu-boot.so" "$DESTDIR$LIBDIR/libsgxemu-boot.so"
install -m 0644 "$ROOT/include/sgxemu.h" "$ROOT/include/sgxemu_stat.h" "$DESTDIR$INCLUDEDIR/"
install -m 0644 "$BUILD/shim/cpuid.h" "$DESTDIR$SHIMDIR/cpuid.h"
install -m 0644 "$BUILD/man/sgxemu.1" "$DESTDIR$MANDIR/man1/sgxemu.1"
install -m 0644 "$BUILD/completion/sgxemu" "$DESTDIR$BASHCOMPDIR/sgxemu"
install -m 0644 "$BUILD/sgxemu-gdb.py" "$DESTDIR$DATADIR/sgxemu/sgxemu-gdb.py"

# pkg-config: the header of the functions a program can look up in the preload (sgxemu.h),
# and where the preload and the shim are (pkg-config --variable=preload sgxemu).
cat >"$DESTDIR$PKGCONFIGDIR/sgxemu.pc" <<PC
prefix=$PREFIX
includedir=$INCLUDEDIR
libdir=$LIBDIR
preload=\${libdir}/libsgxemu.so
shimdir=$SHIMDIR

Name: sgxemu
Description: Intel SGX and the Linux SGX driver emulated in user space
Version: ${VERSION%%+*}
Cflags: -I\${includedir}
PC
chmod 0644 "$DESTDIR$PKGCONFIGDIR/sgxemu.pc"
echo "installed sgxemu $VERSION into $DESTDIR$PREFIX"
