#!/usr/bin/env bash
# Builds dist/svcwrap_VERSION_ARCH.deb with dpkg-deb from `make install`.
#
# Usage: scripts/mkdeb.sh [OUTDIR]
#   Version from git describe (a tag v1.2.3 gives 1.2.3-1, commits after it
#   1.2.3+git4.gabcdef0-1; no tag: 0.1.0~gitYYYYMMDD.abcdef0-1); DEB_VERSION
#   overrides it.
#   Architecture from dpkg --print-architecture.
#   MAINTAINER overrides the Maintainer field.
#
# The binary is static (CGO_ENABLED=0), so Depends is empty and Built-Using is not
# needed (no C library is linked in). Files are root:root through
# dpkg-deb --root-owner-group; modes are set explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
command -v dpkg-deb >/dev/null || { echo "mkdeb: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }

debversion() {
    local d
    if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
        d=${d#v}
        # 1.2.3-4-gabcdef0 -> 1.2.3+git4.gabcdef0
        if [[ $d =~ ^(.*)-([0-9]+)-(g[0-9a-f]+)$ ]]; then
            d="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
        fi
        printf '%s\n' "$d"
    elif d=$(git log -1 --format='%cd.%h' --date=format:%Y%m%d 2>/dev/null); then
        printf '0.1.0~git%s\n' "$d"
    else
        printf '0.1.0\n'
    fi
}
# Upstream version plus Debian revision 1: the package is not native (a Debian
# package of an upstream program), so its changelog is changelog.Debian.gz.
version=${DEB_VERSION:-$(debversion)-1}
arch=$(dpkg --print-architecture)
maintainer=${MAINTAINER:-svcwrap developers <svcwrap-devel@example.org>}
goarch=$arch
case $arch in
    i386) goarch=386 ;;
    armhf | armel) goarch=arm ;;
    ppc64el) goarch=ppc64le ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
umask 022

# The binary is built for the package's architecture, statically, into the stage
# (not bin/), with the upstream part of the version.
GOARCH=$goarch CGO_ENABLED=0 make -s install BINARY="$stage/svcwrap" DESTDIR="$root" PREFIX=/usr \
    VERSION="${version%-*}" >/dev/null

doc=$root/usr/share/doc/svcwrap
install -m 0644 debian/copyright "$doc/copyright"
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
{
    printf 'svcwrap (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Package built from git %s.\n\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf ' -- %s  %s\n' "$maintainer" "$date"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
# Docs are markdown; examples keep their #! line but are not executable here.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/sbin/svcwrap"

mkdir -p "$root/DEBIAN"
install -D -m 0644 debian/lintian-overrides "$root/usr/share/lintian/overrides/svcwrap"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: svcwrap
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Section: admin
Priority: optional
Homepage: https://example.org/svcwrap
Description: init scripts from short service definitions, with a watchdog
 svcwrap is one binary that is the /etc/init.d script of any service. An
 administrator writes a short definition (a dotenv file with an LSB header)
 instead of a shell script, and gets every LSB action with the right exit
 codes, a double-forked daemon tracked by pidfile, a per-service watchdog
 that respawns it when it dies, /etc/default/NAME loaded into its
 environment, and custom verbs such as configtest or rotate.
 .
 The definitions carry real LSB headers, so update-rc.d, insserv and
 systemd-sysv-generator read them like any init script.
CONTROL
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/svcwrap_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
