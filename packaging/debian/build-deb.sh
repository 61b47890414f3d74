#!/usr/bin/env bash
# Builds the Debian package from a staging tree with plain dpkg-deb (no cargo tool needed).
#
#   packaging/debian/build-deb.sh [BINARY] [OUT_DIR]
#
# BINARY defaults to target/release/mypay (build it first: cargo build --release --locked);
# OUT_DIR to target/debian. Prints the path of the .deb it wrote.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/packaging/debian"
binary="${1:-$root/target/release/mypay}"
out_dir="${2:-$root/target/debian}"
[ -x "$binary" ] || { echo "error: no binary at $binary (cargo build --release --locked)" >&2; exit 2; }

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)"
arch="$(dpkg --print-architecture)"
# The newest glibc symbol version the binary needs is the libc6 it depends on.
glibc="$(objdump -T "$binary" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1 || true)"
depends="libc6 (>= ${glibc:-2.31}), adduser"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/mypay_${version}_${arch}"
install -D -m 0755 "$binary" "$pkg/usr/bin/mypay"
install -D -m 0644 "$root/packaging/mypay.service" "$pkg/lib/systemd/system/mypay.service"
# The conffile: root-owned in the package; postinst gives it to group mypay (it may hold secrets).
install -D -m 0640 "$root/packaging/mypay.toml" "$pkg/etc/mypay/mypay.toml"
install -D -m 0644 "$root/LICENSE" "$pkg/usr/share/doc/mypay/copyright"
install -D -m 0644 "$root/README.md" "$pkg/usr/share/doc/mypay/README.md"
install -d -m 0755 "$pkg/DEBIAN"
install -m 0644 "$here/conffiles" "$pkg/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$pkg/DEBIAN/$script"
done
installed_size="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@INSTALLED_SIZE@/$installed_size/" "$here/control.in" > "$pkg/DEBIAN/control"

mkdir -p "$out_dir"
deb="$out_dir/mypay_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
