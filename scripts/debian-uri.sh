# shellcheck shell=bash
# Sourced by scripts/setup.sh and .ci/fresh-machine.sh (one definition): debian_uri prints
# the Debian archive's URI as this machine's own apt sources name it (deb822 .sources files first,
# then one-line sources.list); empty when none names the Debian archive.
debian_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($i !~ /security/ && $(i+1) ~ /^bookworm/) { print $i; exit } break } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}
