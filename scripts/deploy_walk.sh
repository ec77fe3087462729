#!/bin/bash
# Walks docs/DEPLOY.md on three "hosts" made of network namespaces on this
# machine (root and iproute2 needed; nftables, openssl, curl used when there):
# chat1, chat2, chat3 with their private (10.0.0.N) and public (203.0.113.N)
# addresses on one bridge, a Prometheus host (10.0.0.9) and a client
# (203.0.113.100). Names resolve through /etc/netns/<ns>/hosts (what
# `ip netns exec` mounts over /etc/hosts). No traffic leaves the namespaces.
#
# What differs from real hosts, and is said again where it happens:
# - no systemd as PID 1: each unit's ExecStart is run by hand, as user
#   nobody (setpriv; the unit says User=distchat: no user is added here);
# - one file system: each host's /etc/distchat, /var/lib/distchat and
#   /var/backups/distchat live under $WALK/<host>/, and /opt/distchat is
#   this checkout; the unit's paths are rewritten to those;
# - no apt-get, git clone or npm ci (node_modules is this checkout's);
#   no certbot: a private CA made with openssl (DEPLOY.md §3's other way).
#
# Usage: scripts/deploy_walk.sh   (prints each step; exit 0 when all passed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=$ROOT/node_modules/.bin/node
P=dcw-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
WALK=$(mktemp -d /tmp/distchat-walk-XXXXXX)
chmod 755 "$WALK"
HOSTS=(chat1 chat2 chat3)
IDS=(a b c)
NSS=()
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
die() { printf '   FAILED: %s\n' "$*"; exit 1; }
in_ns() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

cleanup() {
  for ns in "${NSS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -rf "$WALK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "0. three hosts, a Prometheus host and a client as network namespaces ($P-*)"
add_ns() { ip netns add "$P-$1"; NSS+=("$P-$1"); ip -n "$P-$1" link set lo up; mkdir -p "/etc/netns/$P-$1"; }
add_ns sw
ip -n "$P-sw" link add br0 type bridge && ip -n "$P-sw" link set br0 up
n=0
for h in chat1 chat2 chat3 prom client; do
  n=$((n + 1))
  add_ns "$h"
  ip -n "$P-sw" link add "p$n" type veth peer name eth0 netns "$P-$h"
  ip -n "$P-sw" link set "p$n" master br0 up
  ip -n "$P-$h" link set eth0 up
done
for i in 1 2 3; do
  ip -n "$P-chat$i" addr add "10.0.0.$i/24" dev eth0
  ip -n "$P-chat$i" addr add "203.0.113.$i/24" dev eth0
done
ip -n "$P-prom" addr add 10.0.0.9/24 dev eth0
ip -n "$P-client" addr add 203.0.113.100/24 dev eth0
for ns in "${NSS[@]}"; do
  printf '127.0.0.1 localhost\n203.0.113.1 chat1.example.net\n203.0.113.2 chat2.example.net\n203.0.113.3 chat3.example.net\n' > "/etc/netns/$ns/hosts"
done
# The Prometheus host scrapes over the private network (DEPLOY.md §8: its /etc/hosts names the private addresses).
printf '127.0.0.1 localhost\n10.0.0.1 chat1.example.net\n10.0.0.2 chat2.example.net\n10.0.0.3 chat3.example.net\n' > "/etc/netns/$P-prom/hosts"
ok "chat1..3 = 10.0.0.1..3 + 203.0.113.1..3, prom = 10.0.0.9, client = 203.0.113.100"

step "1. packages and the code (apt-get, useradd, git clone, npm ci skipped: this checkout)"
v=$("$NODE" --version); [[ $v == v2[4-9]* ]] || die "node_modules/.bin/node is $v, not v24"
ok "node_modules/.bin/node --version: $v"
for h in "${HOSTS[@]}"; do
  mkdir -p "$WALK/$h/etc/distchat/tls" "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"
  chown nobody:nogroup "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"   # distchat:distchat (StateDirectory= makes the second)
  chmod 700 "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"
done

step "2. the cluster key (made on chat1, copied to chat2 and chat3)"
(cd "$ROOT" && npm run -s keygen -- "$WALK/chat1/etc/distchat/cluster.key")
for h in chat2 chat3; do cp "$WALK/chat1/etc/distchat/cluster.key" "$WALK/$h/etc/distchat/cluster.key"; done
for h in "${HOSTS[@]}"; do chown nobody:nogroup "$WALK/$h/etc/distchat/cluster.key"; chmod 600 "$WALK/$h/etc/distchat/cluster.key"; done
ok "$(stat -c '%a %s bytes' "$WALK/chat1/etc/distchat/cluster.key")"
# Server keys: the servers refuse to start without them (DEPLOY.md said "skip them": wrong, fixed).
declare -A KEYFIELD
for i in 0 1 2; do
  h=${HOSTS[$i]}; id=${IDS[$i]}
  KEYFIELD[$id]=$(cd "$ROOT" && npm run -s keygen -- --server-key "$WALK/$h/etc/distchat/$id.server.key" | grep '^key=')
  chown nobody:nogroup "$WALK/$h/etc/distchat/$id.server.key"
done
ok "server keys a, b, c: ${KEYFIELD[a]} …"

step "3. TLS: a private CA (openssl), one certificate per host"
CA=$WALK/ca
mkdir -p "$CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=DistChat private CA" \
  -keyout "$CA/ca.key" -out "$CA/ca.pem" 2>/dev/null
for i in 1 2 3; do
  h=chat$i; tls=$WALK/$h/etc/distchat/tls
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$h.example.net" -keyout "$tls/key.pem" -out "$tls/req.csr" 2>/dev/null
  openssl x509 -req -in "$tls/req.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" -CAcreateserial -days 825 \
    -extfile <(printf 'subjectAltName=DNS:%s.example.net\nextendedKeyUsage=serverAuth\n' "$h") -out "$tls/cert.pem" 2>/dev/null
  rm "$tls/req.csr"; chown nobody:nogroup "$tls/cert.pem" "$tls/key.pem"; chmod 600 "$tls/cert.pem" "$tls/key.pem"
done
ok "ca.pem, and cert.pem/key.pem for chat1..3.example.net"

step "4. servers.txt (DEPLOY.md's text, with each server's key= field)"
for h in "${HOSTS[@]}"; do
  cat > "$WALK/$h/etc/distchat/servers.txt" <<EOF
# id  client address     peer address      web URL                          server key
a 203.0.113.1:7001 10.0.0.1:7101 https://chat1.example.net:8443 ${KEYFIELD[a]}
b 203.0.113.2:7001 10.0.0.2:7101 https://chat2.example.net:8443 ${KEYFIELD[b]}
c 203.0.113.3:7001 10.0.0.3:7101 https://chat3.example.net:8443 ${KEYFIELD[c]}
EOF
done
cp "$WALK/chat1/etc/distchat/servers.txt" "$WALK/servers.txt"   # the users' copy
ok "the same file on the three hosts"

# The unit's ExecStart, its continuation lines joined, %i and paths rewritten for host $1 (id $2).
exec_start() {
  local unit=$1 h=$2 id=$3
  awk '/^ExecStart=/ { on = 1 } on { print; if ($0 !~ /\\$/) exit }' "$ROOT/deploy/$unit" | sed 's/\\$//' | tr -d '\n' | sed -e 's/^ExecStart=//' -e 's/  */ /g' \
    -e "s|%i|$id|g" -e "s|%%|%|g" -e "s|/etc/distchat|$WALK/$h/etc/distchat|g" -e "s|/var/lib/distchat|$WALK/$h/var/lib/distchat|g" \
    -e "s|/var/backups/distchat|$WALK/$h/var/backups/distchat|g" -e "s|/opt/distchat|$ROOT|g"
}
# Runs the server unit of host $1 by hand, as systemd would: EnvironmentFile, User, WorkingDirectory, UMask.
start_server() {
  local h=$1 id=$2 cmd
  cmd=$(exec_start distchat@.service "$h" "$id")
  if [[ -f $WALK/$h.log ]]; then cat "$WALK/$h.log" >> "$WALK/$h.earlier.log"; : > "$WALK/$h.log"; fi
  in_ns "$h" setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c \
    "umask 0077; cd '$ROOT'; set -a; . '$WALK/$h/etc/distchat/$id.env'; set +a; exec $cmd" >>"$WALK/$h.log" 2>&1 &
  for _ in $(seq 1 300); do grep -q "clients .*, peers .*, database" "$WALK/$h.log" && return 0; sleep 0.1; done
  cat "$WALK/$h.log"; die "server $id on $h did not start"
}

step "5. the service: $ROOT/deploy/distchat@.service's ExecStart run by hand (no systemd here)"
for i in 0 1 2; do
  h=${HOSTS[$i]}; id=${IDS[$i]}
  cat > "$WALK/$h/etc/distchat/$id.env" <<ENV
DISTCHAT_FLAGS="--tls-cert $WALK/$h/etc/distchat/tls/cert.pem --tls-key $WALK/$h/etc/distchat/tls/key.pem --web 0.0.0.0:8443 --metrics-allow 10.0.0.9/32 --new-cluster"
ENV
done
echo "   ExecStart (chat1): $(exec_start distchat@.service chat1 a)"
for i in 0 1 2; do start_server "${HOSTS[$i]}" "${IDS[$i]}"; done
grep -h "clients" "$WALK"/chat*.log | sed 's/^/   /'
for i in 0 1 2; do sed -i 's/ --new-cluster//' "$WALK/${HOSTS[$i]}/etc/distchat/${IDS[$i]}.env"; done
grep -q -- --new-cluster "$WALK"/chat*/etc/distchat/*.env && die "--new-cluster still in an .env"
ok "three servers up; --new-cluster removed from every .env"

step "6. firewall: DEPLOY.md's nftables ruleset, loaded in each host's namespace"
if command -v nft >/dev/null; then
  rules=$(sed -n "/^cat > \/etc\/nftables.conf <<'NFT'$/,/^NFT$/p" "$ROOT/docs/DEPLOY.md" | sed '1d;$d')
  [[ -n $rules ]] || die "no nftables ruleset found in DEPLOY.md"
  for i in 1 2 3; do
    others=$(for j in 1 2 3; do if [[ $j != "$i" ]]; then printf '10.0.0.%s, ' "$j"; fi; done | sed 's/, $//')
    printf '%s\n' "$rules" | sed "s/{ 10.0.0.2, 10.0.0.3 }/{ $others }/" > "$WALK/chat$i/etc/nftables.conf"
    in_ns "chat$i" nft -f "$WALK/chat$i/etc/nftables.conf"
  done
  ok "ruleset loaded on chat1..3 (peers only on 7101)"
else
  echo "   SKIPPED: nft not installed (apt-get install nftables)"
fi

step "7. checking the cluster: npm run status on chat1, the web page and a terminal client from the client host"
status() { in_ns chat1 sh -c "cd '$ROOT' && npm run -s status -- --servers '$WALK/chat1/etc/distchat/servers.txt' --cluster-key '$WALK/chat1/etc/distchat/cluster.key'"; }
for _ in $(seq 1 50); do out=$(status || true); grep -q "3/3 up; all hold the same messages" <<<"$out" && break; sleep 0.2; done
sed 's/^/   /' <<<"$out"
grep -q "3/3 up; all hold the same messages" <<<"$out" || die "status: not 3/3 up and the same"
code=$(in_ns client curl -sS --cacert "$CA/ca.pem" -o /dev/null -w '%{http_code}' https://chat1.example.net:8443/)
[[ $code == 200 ]] || die "https://chat1.example.net:8443/ answered $code"
ok "https://chat1.example.net:8443/ from the client host: 200 (certificate checked against the private CA)"
client() { in_ns client sh -c "cd '$ROOT' && NO_COLOR=1 exec '$NODE' client.ts --servers '$WALK/servers.txt' $*"; }
(sleep 14) | client --user bob --room lobby > "$WALK/bob.out" 2>&1 &
bob=$!
sleep 4
(sleep 3; echo "hello from the walk"; sleep 4) | client --user alice --room lobby > "$WALK/alice.out" 2>&1
wait "$bob" || true
grep -q "alice: hello from the walk" "$WALK/bob.out" || { cat "$WALK/alice.out" "$WALK/bob.out"; die "bob did not see alice's line"; }
ok "terminal clients alice and bob (encrypted, servers.txt's keys): bob saw \"alice: hello from the walk\""

out=$(in_ns prom sh -c "cd '$ROOT' && npm run -s status -- --servers '$WALK/chat1/etc/distchat/servers.txt' --cluster-key '$WALK/chat1/etc/distchat/cluster.key'" 2>&1 || true)
grep -q "no server answered" <<<"$out" || { echo "$out"; die "the peer port answered 10.0.0.9, which is not a peer"; }
ok "the peer port (7101) does not answer 10.0.0.9, not a peer: status from there: \"no server answered\""

step "8. monitoring: /metrics from the Prometheus host (10.0.0.9) and from elsewhere; promtool"
code=$(in_ns prom curl -sS --cacert "$CA/ca.pem" -o "$WALK/metrics.txt" -w '%{http_code}' https://chat2.example.net:8443/metrics)
[[ $code == 200 ]] && grep -q '^distchat_peer_up' "$WALK/metrics.txt" || die "metrics from 10.0.0.9: $code"
code=$(in_ns client curl -sS --cacert "$CA/ca.pem" -o /dev/null -w '%{http_code}' https://chat2.example.net:8443/metrics || true)
[[ $code != 200 ]] || die "/metrics answered the client host"
ok "/metrics: 200 with distchat_peer_up from 10.0.0.9; $code from the client host (--metrics-allow)"
if command -v promtool >/dev/null; then
  mkdir -p "$WALK/prometheus"
  cp "$ROOT/deploy/prometheus.yml" "$ROOT/deploy/distchat-alerts.yml" "$CA/ca.pem" "$WALK/prometheus/"
  promtool check config "$WALK/prometheus/prometheus.yml" | sed 's/^/   /'
else
  echo "   SKIPPED: promtool not installed"
fi

# Stops the server of host $1 as systemd would (SIGTERM, wait).
stop_server() {
  local pids; pids=$(ip netns pids "$P-$1")
  kill -TERM $pids
  for _ in $(seq 1 100); do [[ -z $(ip netns pids "$P-$1") ]] && return 0; sleep 0.1; done
  die "server on $1 did not stop on SIGTERM"
}

step "9. backups and a restore: distchat-backup@.service's ExecStart by hand, then DEPLOY.md's restore steps"
cmd=$(exec_start distchat-backup@.service chat1 a)
echo "   ExecStart: $cmd"
in_ns chat1 setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "umask 0077; cd '$ROOT'; $cmd" | sed 's/^/   /'
backup=$(ls "$WALK"/chat1/var/backups/distchat/a-*.sqlite | head -1)
ls -l "$WALK"/chat1/var/backups/distchat/ | sed 's/^/   /'
(sleep 3; echo "after the backup"; sleep 3) | client --user carol --room lobby > "$WALK/carol.out" 2>&1
stop_server chat1
lib=$WALK/chat1/var/lib/distchat
rm -f "$lib/a.sqlite" "$lib/a.sqlite-wal" "$lib/a.sqlite-shm" "$lib/a.sqlite.hwm"
install -o nobody -g nogroup -m 600 "$backup" "$lib/a.sqlite"
install -o nobody -g nogroup -m 600 "$backup.key" "$lib/a.sqlite.key"
start_server chat1 a
sed 's/^/   /' "$WALK/chat1.log"
grep -q "new incarnation" "$WALK/chat1.log" || die "the restored server did not start a new incarnation"
for _ in $(seq 1 50); do out=$(status || true); grep -q "3/3 up; all hold the same messages" <<<"$out" && break; sleep 0.2; done
grep -q "3/3 up; all hold the same messages" <<<"$out" || { echo "$out"; die "a did not catch up after the restore"; }
ok "a restored from $(basename "$backup"), new incarnation, caught up: 3/3 up, same messages"

step "10. an upgrade, one server at a time (same release here: stop, start, status)"
for i in 1 2; do
  h=${HOSTS[$i]}; id=${IDS[$i]}
  stop_server "$h"; start_server "$h" "$id"
  for _ in $(seq 1 50); do out=$(status || true); grep -q "3/3 up; all hold the same messages" <<<"$out" && break; sleep 0.2; done
  grep -q "3/3 up; all hold the same messages" <<<"$out" || die "not caught up after restarting $id"
done
sed 's/^/   /' <<<"$out"
grep -q " 2/2 " <<<"$out" || die "the protocol column does not say 2/2"
ok "b and c restarted in turn; status 3/3 up, the same messages, protocol 2/2"

step "done: every step above passed"
