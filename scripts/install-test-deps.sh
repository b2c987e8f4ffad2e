#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, when running as root.
# Without root it only says what is missing; tests that need them skip and say why.
#
# The packages' own daemons (nginx, memcached, redis, supervisord) must not start
# on install: tests run their own copies on their own ports. Debian asks
# /usr/sbin/policy-rc.d before a maintainer script starts anything, so when the
# machine has no policy of its own, a refusing one is put in place for the
# duration of apt-get and removed afterwards.
set -euo pipefail
pkgs=(
  procps util-linux                 # ps, unshare/nsenter for private mount namespaces
  init-system-helpers sysv-rc insserv  # service, invoke-rc.d, update-rc.d
  systemd                           # systemd-sysv-generator, systemd-analyze (never booted)
  nginx-light memcached redis-server   # real daemons for the examples
  iproute2                          # ip: loopback of the Debian examples' network namespace
  # Debian 12's daemons whose init scripts examples/debian/ replaces, and their clients
  openssh-server openssh-client redis-tools php8.2-fpm
  postgresql postgresql-client haproxy bind9 bind9-utils bind9-dnsutils openvpn cron
  netcat-openbsd python3
  ansible-core                      # ansible.builtin.service / sysvinit
  lintian                           # the .deb is checked
  groff-base man-db                 # man pages are checked for warnings (groff -ww, man --warnings)
  supervisor runit                  # benchmark peers
  curl                              # HTTP requests in the docs' shell examples
  prometheus                        # promtool check metrics: `svcwrap metrics` is valid exposition text
  prometheus-node-exporter          # its textfile collector reads `svcwrap metrics --textfile`
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: not root; missing packages (tests needing them skip): ${missing[*]}"
  exit 0
fi
echo "install-test-deps: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
