#!/usr/bin/env bash
# Checks a built mypay .deb: its contents, then (as root) a real install: the user, the unit, the
# conffile, the installed binary, a 10-second smoke start against a copy of the packaged
# configuration, `dpkg -r` keeping the data, and `dpkg -P` leaving the machine clean.
#
#   packaging/debian/test-deb.sh target/debian/mypay_<version>_<arch>.deb
set -euo pipefail
deb="${1:?usage: test-deb.sh PACKAGE.deb}"
fail() { echo "FAIL: $*" >&2; exit 1; }
version="$(dpkg-deb -f "$deb" Version)"

echo "-- contents (dpkg-deb -c)"
contents="$(dpkg-deb -c "$deb")"
for path in ./usr/bin/mypay ./lib/systemd/system/mypay.service ./etc/mypay/mypay.toml \
            ./usr/share/doc/mypay/copyright; do
  grep -q " $path\$" <<<"$contents" || fail "$path missing from the package"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/bin/mypay$' <<<"$contents" || fail "/usr/bin/mypay must be root-owned 0755"
[ "$(dpkg-deb -I "$deb" conffiles)" = "/etc/mypay/mypay.toml" ] || fail "/etc/mypay/mypay.toml must be the conffile"
dpkg-deb -f "$deb" Depends | grep -q adduser || fail "Depends must name adduser"
echo "ok: $(dpkg-deb -f "$deb" Package) $version $(dpkg-deb -f "$deb" Architecture), $(wc -l <<<"$contents") entries"

if [ "$(id -u)" != 0 ]; then
  echo "skipped: install test (needs root)"
  exit 0
fi
if dpkg-query -W -f='${Status}' mypay 2>/dev/null | grep -q "installed"; then
  echo "skipped: install test (a mypay package is already installed on this machine)"
  exit 0
fi
if getent passwd mypay >/dev/null || [ -e /var/lib/mypay ] || [ -e /etc/mypay ]; then
  echo "skipped: install test (a mypay user, /var/lib/mypay or /etc/mypay already exists)"
  exit 0
fi

smoke="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$smoke"
  dpkg -P mypay >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "-- dpkg -i"
dpkg -i "$deb"
getent passwd mypay | grep -q ':/var/lib/mypay:/usr/sbin/nologin$' || fail "user mypay (home /var/lib/mypay, nologin)"
[ "$(stat -c '%U:%G %a' /var/lib/mypay)" = "mypay:mypay 750" ] || fail "/var/lib/mypay must be mypay:mypay 0750"
[ "$(stat -c '%U:%G %a' /etc/mypay/mypay.toml)" = "root:mypay 640" ] || fail "/etc/mypay/mypay.toml must be root:mypay 0640"
dpkg-query -W -f='${Conffiles}\n' mypay | grep -q '^ /etc/mypay/mypay.toml [0-9a-f]\{32\}$' || fail "conffile not registered"
unit=/lib/systemd/system/mypay.service
for line in User=mypay StateDirectory=mypay ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
            "ExecStart=/usr/bin/mypay serve --config /etc/mypay/mypay.toml"; do
  grep -qx "$line" "$unit" || fail "$unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
fi
[ "$(/usr/bin/mypay --version)" = "mypay $version" ] || fail "mypay --version: $(/usr/bin/mypay --version)"
# Installed, the packaged configuration is read without --config.
runuser -u mypay -- /usr/bin/mypay config check | grep -q '/etc/mypay/mypay.toml' \
  || fail "mypay config check did not read /etc/mypay/mypay.toml"
echo "ok: user, data directory, unit, conffile, mypay --version, default configuration"

echo "-- 10-second smoke start of the installed binary (copy of the packaged configuration)"
cp /etc/mypay/mypay.toml "$smoke/mypay.toml"
chown -R mypay:mypay "$smoke"
# setpriv execs (runuser would stay in between and take the SIGTERM meant for the server).
setpriv --reuid=mypay --regid=mypay --init-groups -- /usr/bin/mypay --config "$smoke/mypay.toml" \
  --data-dir "$smoke/data" serve --listen 127.0.0.1:0 >"$smoke/out" 2>"$smoke/err" &
server=$!
for _ in $(seq 100); do grep -q 'listening on' "$smoke/out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/.* listening on \(.*\)$/\1/p' "$smoke/out")"
[ -n "$url" ] || { cat "$smoke/err" >&2; fail "the server did not start"; }
case "$url" in https://127.0.0.1:*) ;; *) fail "expected HTTPS (tls.mode = auto) on loopback, got $url" ;; esac
for second in $(seq 10); do
  runuser -u mypay -- /usr/bin/mypay healthcheck --url "$url/healthz" >/dev/null \
    || { cat "$smoke/err" >&2; fail "/healthz not answered after $second s"; }
  sleep 1
done
kill -TERM "$server"
wait "$server" || { cat "$smoke/err" >&2; fail "the server did not stop cleanly on SIGTERM"; }
server=""
[ -f "$smoke/data/mypay.db" ] && [ -f "$smoke/data/mypay.key" ] && [ -f "$smoke/data/tls/cert.pem" ] \
  || fail "database, key file or generated certificate missing"
echo "ok: $url answered /healthz for 10 s, stopped cleanly"

echo "-- dpkg -r keeps the data, dpkg -P removes it"
# A command that writes creates /var/lib/mypay/mypay.db (reads open it read-only and need one).
runuser -u mypay -- /usr/bin/mypay org add c_prova --fiscal-code 01199250158 --name "Comune di prova" \
  --segregation-code 01 >/dev/null
[ -f /var/lib/mypay/mypay.db ] || fail "no database in /var/lib/mypay"
dpkg -r mypay
[ ! -e /usr/bin/mypay ] || fail "/usr/bin/mypay still there after dpkg -r"
[ -f /var/lib/mypay/mypay.db ] || fail "dpkg -r deleted the data"
[ -f /etc/mypay/mypay.toml ] || fail "dpkg -r deleted the configuration"
dpkg -P mypay
[ ! -e /var/lib/mypay ] && [ ! -e /etc/mypay ] || fail "dpkg -P left /var/lib/mypay or /etc/mypay"
! getent passwd mypay >/dev/null || fail "dpkg -P left the user mypay"
echo "ok: remove kept /var/lib/mypay, purge removed it"
