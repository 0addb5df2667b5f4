#!/bin/bash
# Compatibility: Gramine's PAL regression suite (pal/regression), built from a Gramine source tree
# you point to and run unmodified, with its default manifests, under `sgxemu run` -- once without
# EDMM and once with it (EDMM=1, which Gramine's manifests turn into `sgx.edmm_enable = true`).
# Nothing of Gramine is kept in this repository: sources are copied, built, installed and run in
# a cache directory outside it.
#
#   compat/gramine.sh BUILD_DIR
#
# Environment:
#   GRAMINE_SRC          a Gramine source tree at the pinned commit. Not set: every mode is
#                        reported skipped (exit 0). A git tree must be at GRAMINE_COMMIT; any
#                        other tree must say version GRAMINE_VERSION in its meson.build.
#   GRAMINE_SUBPROJECTS  the sources of the subprojects Gramine pins (not needed if GRAMINE_SRC's
#                        subprojects/ already holds them). For each subprojects/NAME.wrap the build
#                        uses (all but glibc, musl, gcc: this build has -Dlibc=none): either a
#                        directory named as the wrap's `directory` (e.g. mbedtls-3.6.3), laid into
#                        subprojects/ with Gramine's packagefiles overlay as meson would, or the
#                        wrap's `source_filename` archive, handed to meson, which checks its hash.
#                        A directory with configure.ac and no configure gets `autoreconf -fi`.
#   GRAMINE_COMMIT       default 0d1a4b7607592dab4c8a720c962acee3de6b4ca8 (tag v1.9)
#   GRAMINE_VERSION      default 1.9
#   GRAMINE_ANY_COMMIT=1 accept a git tree at another commit (reported)
#   SGXEMU_COMPAT_CACHE  work directory (default ${XDG_CACHE_HOME:-~/.cache}/sgxemu-compat):
#                        src/ (the copy built), build/ (meson), prefix/ (installed Gramine),
#                        config/gramine/enclave-key.pem (the signing key, made once), run-MODE/
#                        (the suite's copy, manifests, logs, results.xml), build.log
#   SGXEMU_COMPAT_MODES  default "sgx edmm"
#   SGXEMU_COMPAT_TIMEOUT  seconds for one mode's pytest run (default 1800; Gramine's own limit
#                        of 20 s per test applies inside)
#   SGXEMU_COMPAT_RUN_ARGS  extra `sgxemu run` options, e.g. "--trace-file /tmp/t"
#   PYTHON               the interpreter for pytest (default: the one in gramine-test's #! line)
#   PYTEST_ADDOPTS       passed to pytest as usual (e.g. "-k Bootstrap")
#
# Before building, `scripts/install-deps --compat` installs the Debian packages it needs.
#
# Output: per mode one line "gramine-pal MODE: P passed, F failed, S skipped" and the failed
# tests; the last line is "N passed, N failed, N skipped" over all modes. A mode that could not be
# built or run, or whose pytest did not write its results, counts as 1 failure.
# Exit status: 0 if nothing failed, 1 otherwise, 2 for bad usage.

set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
SGXEMU=$BUILD/sgxemu
PIN=${GRAMINE_COMMIT:-0d1a4b7607592dab4c8a720c962acee3de6b4ca8}
VERSION=${GRAMINE_VERSION:-1.9}
CACHE=${SGXEMU_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sgxemu-compat}
read -r -a MODES <<<"${SGXEMU_COMPAT_MODES:-sgx edmm}"
read -r -a RUN_ARGS <<<"${SGXEMU_COMPAT_RUN_ARGS:-}"
TIMEOUT=${SGXEMU_COMPAT_TIMEOUT:-1800}
# The options Gramine's SGX CI builds with, less glibc (the PAL suite needs no libc), DCAP
# (attestation libraries from Intel) and downloads.
MESON_OPTS=(--buildtype=release -Dsgx=enabled -Ddirect=disabled -Dlibc=none -Ddcap=disabled
	--wrap-mode=nodownload -Dtests=enabled)

say() { echo "gramine: $*"; }

P=0 F=0 S=0
finish() {
	echo "$P passed, $F failed, $S skipped"
	[ "$F" -eq 0 ]
	exit $?
}
# Setup failed: every mode counts one failure.
setup_failed() {
	say "$*"
	F=$((F + ${#MODES[@]}))
	finish
}

if [ -z "${GRAMINE_SRC:-}" ]; then
	say "GRAMINE_SRC is not set: the Gramine suite is skipped (see README, \"Compatibility\")"
	S=${#MODES[@]}
	finish
fi
[ -d "$GRAMINE_SRC" ] || setup_failed "GRAMINE_SRC=$GRAMINE_SRC is not a directory"
SRC_IN=$(cd "$GRAMINE_SRC" && pwd)
{ [ -f "$SRC_IN/meson.build" ] && [ -d "$SRC_IN/pal/regression" ]; } ||
	setup_failed "$SRC_IN does not look like a Gramine source tree"
[ -x "$SGXEMU" ] || setup_failed "$SGXEMU not found (run make first)"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps" --compat >"${TMPDIR:-/tmp}/sgxemu-compat-deps.log" 2>&1 ||
	setup_failed "cannot install the build dependencies: scripts/install-deps --compat" \
		"(log: ${TMPDIR:-/tmp}/sgxemu-compat-deps.log)"

# ---- 1. the pinned commit -----------------------------------------------------------------

top=$(git -C "$SRC_IN" rev-parse --show-toplevel 2>/dev/null || true)
if [ -n "$top" ] && [ "$(cd "$top" && pwd)" = "$SRC_IN" ]; then
	head=$(git -C "$SRC_IN" rev-parse HEAD)
	if [ "$head" != "$PIN" ]; then
		[ "${GRAMINE_ANY_COMMIT:-0}" = 1 ] ||
			setup_failed "$SRC_IN is at $head, not the pinned $PIN (GRAMINE_ANY_COMMIT=1 to go on)"
		say "warning: $SRC_IN is at $head, not the pinned $PIN"
	fi
	[ -z "$(git -C "$SRC_IN" status --porcelain --untracked-files=no)" ] ||
		say "warning: $SRC_IN has local changes (results are not those of an unmodified Gramine)"
	say "source: $SRC_IN at $head"
else
	v=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$SRC_IN/meson.build" | head -n 1)
	[ "$v" = "$VERSION" ] || setup_failed "$SRC_IN/meson.build says version '$v', not $VERSION"
	say "source: $SRC_IN (not a git tree: commit not verified; meson.build says version $v)"
fi

# ---- 2. a private copy with the subprojects laid in ---------------------------------------

mkdir -p "$CACHE" || setup_failed "cannot create $CACHE"
CACHE=$(cd "$CACHE" && pwd)
case "$CACHE/" in
"$ROOT"/*) setup_failed "SGXEMU_COMPAT_CACHE must be outside the repository" ;;
esac
SRC=$CACHE/src
BDIR=$CACHE/build
PREFIX=$CACHE/prefix
BUILD_LOG=$CACHE/build.log

wrap_key() { # wrap_key FILE KEY
	sed -n "s/^$2 *= *//p" "$1" | head -n 1
}

# The wraps this build uses: all but the libcs and their compiler runtime (-Dlibc=none).
needed_wraps() {
	local w
	for w in "$SRC_IN"/subprojects/*.wrap; do
		case $(basename "$w") in
		glibc-* | musl-* | gcc-*) ;;
		*) echo "$w" ;;
		esac
	done
}

# lay_subproject WRAP: into $SRC.tmp/subprojects, from $GRAMINE_SUBPROJECTS or as already there.
lay_subproject() {
	local wrap=$1 dir patchdir lead file dest src
	dir=$(wrap_key "$wrap" directory)
	patchdir=$(wrap_key "$wrap" patch_directory)
	lead=$(wrap_key "$wrap" lead_directory_missing)
	file=$(wrap_key "$wrap" source_filename)
	dest=$SRC.tmp/subprojects/$dir
	[ -n "$dir" ] || { say "$wrap has no directory"; return 1; }
	if [ -d "$dest" ]; then
		return 0 # GRAMINE_SRC came with it
	fi
	src=${GRAMINE_SUBPROJECTS:-}/$dir
	if [ -n "${GRAMINE_SUBPROJECTS:-}" ] && [ -d "$src" ]; then
		# As meson extracts a wrap: the archive's top directory is `directory`, or (with
		# lead_directory_missing) sits inside it; then patch_directory's files go on top.
		if [ "$lead" = true ]; then
			mkdir -p "$dest" && cp -a "$src" "$dest/$dir" || return 1
		else
			cp -a "$src" "$dest" || return 1
		fi
		if [ -n "$patchdir" ]; then
			cp -a "$SRC.tmp/subprojects/packagefiles/$patchdir/." "$dest/" || return 1
		fi
		if [ -f "$dest/configure.ac" ] && [ ! -e "$dest/configure" ]; then
			say "autoreconf in subprojects/$dir (a git tree has no configure)"
			(cd "$dest" && autoreconf -fi) >>"$BUILD_LOG" 2>&1 || return 1
		fi
		say "subproject $dir: from $src"
	elif [ -n "${GRAMINE_SUBPROJECTS:-}" ] && [ -n "$file" ] && [ -f "$GRAMINE_SUBPROJECTS/$file" ]; then
		mkdir -p "$SRC.tmp/subprojects/packagecache" &&
			cp -a "$GRAMINE_SUBPROJECTS/$file" "$SRC.tmp/subprojects/packagecache/" || return 1
		say "subproject $dir: $file, extracted by meson"
	else
		say "subproject $dir: not found (GRAMINE_SUBPROJECTS=${GRAMINE_SUBPROJECTS:-unset} needs $dir/ or $file)"
		return 1
	fi
}

# What the copy was made from: every file's name, size and time, and the subprojects given.
stamp=$( { cd "$SRC_IN" && find . -name .git -prune -o -type f -printf '%P %s %T@\n' | sort
	[ -n "${GRAMINE_SUBPROJECTS:-}" ] && ls -l --time-style=+%s "$GRAMINE_SUBPROJECTS"/
	echo "$SRC_IN ${GRAMINE_SUBPROJECTS:-}"; } | sha256sum)
if [ ! -f "$SRC/.sgxemu-stamp" ] || [ "$(cat "$SRC/.sgxemu-stamp")" != "$stamp" ]; then
	say "copying $SRC_IN to $SRC"
	: >"$BUILD_LOG"
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	# tar keeps the files' times, so that an unchanged file is not rebuilt.
	(cd "$SRC_IN" && tar -c --exclude=./.git .) | tar -x -C "$SRC.tmp" ||
		setup_failed "cannot copy $SRC_IN"
	while read -r w; do
		lay_subproject "$w" || setup_failed "cannot lay out subprojects/$(basename "$w" .wrap)" \
			"(log: $BUILD_LOG)"
	done < <(needed_wraps)
	echo "$stamp" >"$SRC.tmp/.sgxemu-stamp"
	rm -rf "$SRC"
	mv "$SRC.tmp" "$SRC"
fi

# ---- 3. build and install -----------------------------------------------------------------

opts_stamp="--prefix=$PREFIX ${MESON_OPTS[*]}"
t0=$(date +%s)
if [ ! -f "$BDIR/build.ninja" ] || [ "$(cat "$BDIR/.sgxemu-opts" 2>/dev/null)" != "$opts_stamp" ]; then
	rm -rf "$BDIR" "$PREFIX"
	say "meson setup $BDIR ${MESON_OPTS[*]}"
	meson setup "$BDIR" "$SRC" --prefix="$PREFIX" "${MESON_OPTS[@]}" >>"$BUILD_LOG" 2>&1 || {
		tail -n 20 "$BUILD_LOG" | sed 's/^/  /'
		setup_failed "meson setup failed (log: $BUILD_LOG)"
	}
	echo "$opts_stamp" >"$BDIR/.sgxemu-opts"
fi
say "building and installing into $PREFIX (log: $BUILD_LOG)"
if ! ninja -C "$BDIR" >>"$BUILD_LOG" 2>&1 || ! ninja -C "$BDIR" install >>"$BUILD_LOG" 2>&1; then
	grep -n -m 5 -i 'error' "$BUILD_LOG" | sed 's/^/  /'
	tail -n 15 "$BUILD_LOG" | sed 's/^/  /'
	setup_failed "the Gramine build failed (log: $BUILD_LOG)"
fi
say "build and install took $(($(date +%s) - t0)) s"

# The installed tools, as Gramine's CI uses them from a non-standard prefix.
libpal=$(find "$PREFIX" -path '*/gramine/sgx/libpal.so' | head -n 1)
pymod=$(find "$PREFIX" -type d -name graminelibos -path '*-packages/*' | head -n 1)
{ [ -n "$libpal" ] && [ -n "$pymod" ]; } || setup_failed "the install in $PREFIX lacks sgx/libpal.so or graminelibos"
LIBDIR=$(dirname "$(dirname "$(dirname "$libpal")")")
export PATH=$PREFIX/bin:$PATH
PYTHONPATH=$(dirname "$pymod")${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
export XDG_CONFIG_HOME=$CACHE/config # where gramine-sgx-gen-private-key and the signer look
export SGX=1
# pytest runs with the interpreter Gramine's own tools were installed for (their #! line).
if [ -z "${PYTHON:-}" ]; then
	read -r -a shebang < <(sed -n '1s/^#! *//p' "$PREFIX/bin/gramine-test")
	PYTHON=${shebang[0]:-python3}
	[ "${PYTHON##*/}" = env ] && PYTHON=${shebang[1]:-python3}
fi
"$PYTHON" -c 'import pytest' 2>/dev/null || setup_failed "$PYTHON has no pytest module (python3-pytest)"
if [ ! -f "$XDG_CONFIG_HOME/gramine/enclave-key.pem" ]; then
	gramine-sgx-gen-private-key >>"$BUILD_LOG" 2>&1 || setup_failed "gramine-sgx-gen-private-key failed"
fi

# ---- 4. run the suite per mode ------------------------------------------------------------

# count_junit FILE: prints "P F S" and, on stderr, one line per failed test.
count_junit() {
	python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
for tc in ET.parse(sys.argv[1]).getroot().iter('testcase'):
    name = tc.get('classname', '').rsplit('.', 1)[-1] + '.' + tc.get('name', '')
    bad = tc.find('failure')
    if bad is None:
        bad = tc.find('error')
    if bad is not None:
        f += 1
        # Gramine's own first error line says more than the Python exception.
        logs = [e.text or '' for e in tc.iter() if e.tag in ('system-err', 'system-out')]
        errs = [l for t in logs for l in t.splitlines() if ' error: ' in l]
        msg = errs or (bad.get('message') or '').strip().splitlines() or ['']
        print('  FAILED %s: %s' % (name, msg[0].strip()[:160]), file=sys.stderr)
    elif tc.find('skipped') is not None:
        s += 1
    else:
        p += 1
print(p, f, s)
EOF
}

for mode in "${MODES[@]}"; do
	case $mode in
	sgx) edmm=0 ;;
	edmm) edmm=1 ;;
	*) say "unknown mode '$mode' (sgx or edmm)"; F=$((F + 1)); continue ;;
	esac
	run=$CACHE/run-$mode
	rm -rf "$run"
	mkdir -p "$run/pal"
	{ cp -a "$SRC/pal/regression" "$run/pal/" && cp "$SRC/pytest.ini" "$run/"; } || {
		say "$mode: cannot copy the suite to $run"; F=$((F + 1)); continue
	}
	cd "$run/pal/regression" || exit 1
	if ! EDMM=$edmm gramine-test build -v >build.log 2>&1; then
		tail -n 10 build.log | sed 's/^/  /'
		say "$mode: gramine-test build failed (log: $run/pal/regression/build.log)"
		F=$((F + 1))
		continue
	fi
	say "$mode: EDMM=$edmm $SGXEMU run${RUN_ARGS[*]:+ ${RUN_ARGS[*]}} -- $PYTHON -m pytest -v (in $PWD, timeout ${TIMEOUT}s)"
	EDMM=$edmm timeout -k 30 "$TIMEOUT" "$SGXEMU" run "${RUN_ARGS[@]}" -- \
		"$PYTHON" -m pytest -v --junit-xml=results.xml >pytest.log 2>&1
	rc=$?
	if [ ! -s results.xml ]; then
		tail -n 10 pytest.log | sed 's/^/  /'
		say "$mode: pytest wrote no results (exit status $rc; log: $PWD/pytest.log)"
		F=$((F + 1))
		continue
	fi
	[ "$rc" -eq 124 ] && say "$mode: timed out after ${TIMEOUT}s"
	if ! counts=$(count_junit results.xml); then
		say "$mode: cannot read $PWD/results.xml"
		F=$((F + 1))
		continue
	fi
	read -r p f s <<<"$counts"
	say "gramine-pal $mode: $p passed, $f failed, $s skipped (log: $PWD/pytest.log)"
	P=$((P + p)) F=$((F + f)) S=$((S + s))
done
finish
