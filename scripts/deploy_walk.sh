#!/bin/bash
# Walks docs/DEPLOY.md on three "hosts" made of network namespaces on this
# machine (root and iproute2 needed; nftables, openssl, curl used when there):
# chat1, chat2, chat3 with their private (10.0.0.N) and public (203.0.113.N)
# addresses on one bridge, a Prometheus host (10.0.0.9) and a client
# (203.0.113.100); for §11 a fourth host chat4 (10.0.0.4, 203.0.113.4)
# is added as server d while two clients write, then chat3 (c) is retired,
# and every acked message is checked on a, b and d. Names resolve through /etc/netns/<ns>/hosts (what
# `ip netns exec` mounts over /etc/hosts). No traffic leaves the namespaces.
#
# What differs from real hosts, and is said again where it happens:
# - no systemd as PID 1: each unit's ExecStart is run by hand, as user
#   the uid that DEPLOY.md's useradd line made in a temporary root (setpriv;
#   this machine's /etc is not changed);
# - one file system: each host's /etc/distchat, /var/lib/distchat and
#   /var/backups/distchat live under $WALK/<host>/, and /opt/distchat is
#   this checkout; the unit's paths are rewritten to those;
# - no apt-get; no certbot: a private CA made with openssl (DEPLOY.md §3's
#   other way); with --npm-ci, §1's git clone (of this checkout's committed
#   HEAD, not of GitHub) and npm ci (from the npm registry) into $WALK/opt,
#   which the walk then runs from; without it, node_modules is this checkout's.
#
# Usage: scripts/deploy_walk.sh [--npm-ci]   (prints each step; exit 0 when all passed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NPM_CI=$([[ ${1:-} == --npm-ci ]] && echo 1 || echo "")
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

step "1. packages and the code (apt-get skipped; git clone and npm ci with --npm-ci, else /opt/distchat is this checkout)"
# useradd as DEPLOY.md writes it, into a temporary root (copies of /etc's user files): this machine's /etc is not changed.
mkdir -p "$WALK/root/etc"
cp /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/login.defs "$WALK/root/etc/"
useradd --root "$WALK/root" --system --home-dir /var/lib/distchat --shell /usr/sbin/nologin distchat 2>/dev/null
SVC_UID=$(awk -F: '$1 == "distchat" { print $3 }' "$WALK/root/etc/passwd"); SVC_GID=$(awk -F: '$1 == "distchat" { print $4 }' "$WALK/root/etc/passwd")
[[ -n $SVC_UID && -n $SVC_GID ]] || die "useradd made no user distchat"
SVC=$SVC_UID:$SVC_GID
if [[ -n $NPM_CI ]]; then
  git clone -q "$ROOT" "$WALK/opt/distchat"
  (cd "$WALK/opt/distchat" && git log -1 --format='   git clone: %h %s' && npm ci --no-audit --no-fund 2>&1 | sed 's/^/   npm ci: /')
  ROOT=$WALK/opt/distchat; NODE=$ROOT/node_modules/.bin/node
  v=$("$NODE" --version); [[ $v == v2[4-9]* ]] || die "after npm ci node_modules/.bin/node is $v, not v24"
  ok "git clone + npm ci into $ROOT (npm $(npm --version) on node $(node --version)): node_modules/.bin/node is $v"
fi
ok "useradd --system … distchat (in $WALK/root): uid $SVC_UID, gid $SVC_GID; the services below run as that uid"
v=$("$NODE" --version); [[ $v == v2[4-9]* ]] || die "node_modules/.bin/node is $v, not v24"
ok "node_modules/.bin/node --version: $v"
for h in "${HOSTS[@]}"; do
  mkdir -p "$WALK/$h/etc/distchat/tls" "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"
  chown "$SVC" "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"   # distchat:distchat (StateDirectory= makes the second)
  chmod 700 "$WALK/$h/var/backups/distchat" "$WALK/$h/var/lib/distchat"
done

step "2. the cluster key (made on chat1, copied to chat2 and chat3)"
(cd "$ROOT" && npm run -s keygen -- "$WALK/chat1/etc/distchat/cluster.key")
for h in chat2 chat3; do cp "$WALK/chat1/etc/distchat/cluster.key" "$WALK/$h/etc/distchat/cluster.key"; done
for h in "${HOSTS[@]}"; do chown "$SVC" "$WALK/$h/etc/distchat/cluster.key"; chmod 600 "$WALK/$h/etc/distchat/cluster.key"; done
ok "$(stat -c '%a %s bytes' "$WALK/chat1/etc/distchat/cluster.key")"
# Server keys: the servers refuse to start without them (DEPLOY.md said "skip them": wrong, fixed).
declare -A KEYFIELD
for i in 0 1 2; do
  h=${HOSTS[$i]}; id=${IDS[$i]}
  KEYFIELD[$id]=$(cd "$ROOT" && npm run -s keygen -- --server-key "$WALK/$h/etc/distchat/$id.server.key" | grep '^key=')
  chown "$SVC" "$WALK/$h/etc/distchat/$id.server.key"
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
  rm "$tls/req.csr"; chown "$SVC" "$tls/cert.pem" "$tls/key.pem"; chmod 600 "$tls/cert.pem" "$tls/key.pem"
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
  in_ns "$h" setpriv --reuid="$SVC_UID" --regid="$SVC_GID" --clear-groups sh -c \
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
# DEPLOY.md §6's ruleset for host $1 (chatN), its peer set rewritten to the addresses $2 ("10.0.0.2, 10.0.0.3").
firewall() {
  local h=$1 peers=$2 rules
  command -v nft >/dev/null || return 0
  rules=$(sed -n "/^cat > \/etc\/nftables.conf <<'NFT'$/,/^NFT$/p" "$ROOT/docs/DEPLOY.md" | sed '1d;$d')
  [[ -n $rules ]] || die "no nftables ruleset found in DEPLOY.md"
  printf '%s\n' "$rules" | sed "s/{ 10.0.0.2, 10.0.0.3 }/{ $peers }/" > "$WALK/$h/etc/nftables.conf"
  in_ns "$h" nft -f "$WALK/$h/etc/nftables.conf"
}
if command -v nft >/dev/null; then
  firewall chat1 "10.0.0.2, 10.0.0.3"; firewall chat2 "10.0.0.1, 10.0.0.3"; firewall chat3 "10.0.0.1, 10.0.0.2"
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
# Terminal clients bob and alice (the users' servers.txt) in room lobby: bob must see alice's line "$1".
chat_check() {
  (sleep 14) | client --user bob --room lobby > "$WALK/bob.out" 2>&1 &
  local bob=$!
  sleep 4
  (sleep 3; echo "$1"; sleep 4) | client --user alice --room lobby > "$WALK/alice.out" 2>&1
  wait "$bob" || true
  grep -q "alice: $1" "$WALK/bob.out" || { cat "$WALK/alice.out" "$WALK/bob.out"; die "bob did not see alice's line"; }
  ok "terminal clients alice and bob (encrypted, servers.txt's keys): bob saw \"alice: $1\""
}
chat_check "hello from the walk"

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
in_ns chat1 setpriv --reuid="$SVC_UID" --regid="$SVC_GID" --clear-groups sh -c "umask 0077; cd '$ROOT'; $cmd" | sed 's/^/   /'
backup=$(ls "$WALK"/chat1/var/backups/distchat/a-*.sqlite | head -1)
ls -l "$WALK"/chat1/var/backups/distchat/ | sed 's/^/   /'
(sleep 3; echo "after the backup"; sleep 3) | client --user carol --room lobby > "$WALK/carol.out" 2>&1
stop_server chat1
lib=$WALK/chat1/var/lib/distchat
rm -f "$lib/a.sqlite" "$lib/a.sqlite-wal" "$lib/a.sqlite-shm" "$lib/a.sqlite.hwm"
install -o "$SVC_UID" -g "$SVC_GID" -m 600 "$backup" "$lib/a.sqlite"
install -o "$SVC_UID" -g "$SVC_GID" -m 600 "$backup.key" "$lib/a.sqlite.key"
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

step "11. adding chat4 (server d) with clients chatting, then retiring chat3 (server c): DEPLOY.md §11"
# Two encrypted clients keep adding messages from the client host to the servers of the users' servers.txt
# (reread at every turn, so handing them the new file moves them), until $WALK/writers.stop exists.
writers() { in_ns client sh -c "cd '$ROOT' && exec '$NODE' testing/walk_writers.ts $*"; }
writers write --servers "'$WALK/servers.txt'" --room walk --count 2 --out "'$WALK/acked.json'" --stop "'$WALK/writers.stop'" > "$WALK/writers.out" 2>&1 &
wpid=$!
reload() { kill -HUP $(ip netns pids "$P-$1"); }   # systemctl reload distchat@ID: the unit's ExecReload (kill -HUP $MAINPID)
waitlog() { for _ in $(seq 1 "${3:-300}"); do grep -q "$2" "$WALK/$1.log" && return 0; sleep 0.1; done; cat "$WALK/$1.log"; die "$1 did not log \"$2\""; }
same_status() { # waits until status says "$1" and the same messages; prints it
  for _ in $(seq 1 100); do out=$(status || true); grep -q "$1; all hold the same messages" <<<"$out" && break; sleep 0.2; done
  sed 's/^/   /' <<<"$out"; grep -q "$1; all hold the same messages" <<<"$out" || die "status: not \"$1; all hold the same messages\""
}
# Adding, 1: chat4, a new host on the same networks, prepared without starting a server (§1-§3: directories, the
# cluster key, its own server key, a certificate; §6 below).
add_ns chat4
ip -n "$P-sw" link add p9 type veth peer name eth0 netns "$P-chat4"
ip -n "$P-sw" link set p9 master br0 up
ip -n "$P-chat4" link set eth0 up
ip -n "$P-chat4" addr add 10.0.0.4/24 dev eth0 && ip -n "$P-chat4" addr add 203.0.113.4/24 dev eth0
for ns in "${NSS[@]}"; do [[ $ns == "$P-prom" ]] && l=10.0.0.4 || l=203.0.113.4; printf '%s chat4.example.net\n' "$l" >> "/etc/netns/$ns/hosts"; done
d4=$WALK/chat4
mkdir -p "$d4/etc/distchat/tls" "$d4/var/backups/distchat" "$d4/var/lib/distchat"
chown "$SVC" "$d4/var/backups/distchat" "$d4/var/lib/distchat"; chmod 700 "$d4/var/backups/distchat" "$d4/var/lib/distchat"
install -o "$SVC_UID" -g "$SVC_GID" -m 600 "$WALK/chat1/etc/distchat/cluster.key" "$d4/etc/distchat/cluster.key"
KEYFIELD[d]=$(cd "$ROOT" && npm run -s keygen -- --server-key "$d4/etc/distchat/d.server.key" | grep '^key=')
chown "$SVC" "$d4/etc/distchat/d.server.key"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=chat4.example.net" -keyout "$d4/etc/distchat/tls/key.pem" -out "$d4/etc/distchat/tls/req.csr" 2>/dev/null
openssl x509 -req -in "$d4/etc/distchat/tls/req.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca.key" -CAcreateserial -days 825 \
  -extfile <(printf 'subjectAltName=DNS:chat4.example.net\nextendedKeyUsage=serverAuth\n') -out "$d4/etc/distchat/tls/cert.pem" 2>/dev/null
rm "$d4/etc/distchat/tls/req.csr"; chown "$SVC" "$d4"/etc/distchat/tls/*.pem; chmod 600 "$d4"/etc/distchat/tls/*.pem
ok "chat4 = 10.0.0.4 + 203.0.113.4: cluster key, server key d (${KEYFIELD[d]}), certificate for chat4.example.net"
sleep 2   # the clients are chatting
# Adding, 1 and 2: d's firewall with a, b, c as peers; a, b and c let d in (nft -f of the new file = systemctl reload nftables).
firewall chat1 "10.0.0.2, 10.0.0.3, 10.0.0.4"; firewall chat2 "10.0.0.1, 10.0.0.3, 10.0.0.4"; firewall chat3 "10.0.0.1, 10.0.0.2, 10.0.0.4"
firewall chat4 "10.0.0.1, 10.0.0.2, 10.0.0.3"
# Adding, 3: d's line appended to servers.txt on a, b, c; reload each (the unit's ExecReload: SIGHUP).
dline="d 203.0.113.4:7001 10.0.0.4:7101 https://chat4.example.net:8443 ${KEYFIELD[d]}"
for i in 0 1 2; do
  h=${HOSTS[$i]}; printf '%s\n' "$dline" >> "$WALK/$h/etc/distchat/servers.txt"; reload "$h"
  waitlog "$h" "servers file reloaded: added d (members a, b, c, d)"
done
ok "a, b, c: \"servers file reloaded: added d (members a, b, c, d)\""
# Adding, 4: on d the same servers.txt, §5's flags with --join instead of --new-cluster, start; wait for "caught up".
cp "$WALK/chat1/etc/distchat/servers.txt" "$d4/etc/distchat/servers.txt"
cat > "$d4/etc/distchat/d.env" <<ENV
DISTCHAT_FLAGS="--tls-cert $d4/etc/distchat/tls/cert.pem --tls-key $d4/etc/distchat/tls/key.pem --web 0.0.0.0:8443 --metrics-allow 10.0.0.9/32 --join"
ENV
HOSTS+=(chat4); IDS+=(d)
start_server chat4 d
status | sed 's/^/   /'
waitlog chat4 "caught up with every peer: taking writes" 300
grep "caught up" "$WALK/chat4.log" | sed 's/^/   /'
same_status "4/4 up"
# Adding, 5: clients get the new servers.txt (the writers reread it: they now write to d too); browsers read /servers.json;
# Prometheus scrapes chat4 (its /etc/hosts got 10.0.0.4 above).
cp "$WALK/chat1/etc/distchat/servers.txt" "$WALK/servers.txt"
code=$(in_ns client curl -sS --cacert "$CA/ca.pem" https://chat1.example.net:8443/servers.json)
grep -q '"d"' <<<"$code" || die "/servers.json of a does not list d: $code"
ok "https://chat1.example.net:8443/servers.json lists d"
code=$(in_ns prom curl -sS --cacert "$CA/ca.pem" -o /dev/null -w '%{http_code}' https://chat4.example.net:8443/metrics)
[[ $code == 200 ]] || die "/metrics of chat4 from 10.0.0.9: $code"
ok "https://chat4.example.net:8443/metrics from the Prometheus host: 200"
sleep 3
# Retiring c, 1: c's line out of c's own servers.txt, reload c.
sed -i '/^c /d' "$WALK/chat3/etc/distchat/servers.txt"; reload chat3
waitlog chat3 "this server is retired"
# Retiring c, 2: wait for c's word that every peer has its ops.
waitlog chat3 "every peer has all of this server's ops" 300
grep -h "retired\|every peer has" "$WALK/chat3.log" | sed 's/^/   /'
# Retiring c, 3: "c retired" instead of c's line on a, b and d; reload each.
for h in chat1 chat2 chat4; do
  sed -i 's/^c .*/c retired/' "$WALK/$h/etc/distchat/servers.txt"; reload "$h"; waitlog "$h" "retired c"
done
ok "a, b, d: \"retired c\""
# Retiring c, 4: stop c for good, close its firewall ports; clients get the servers.txt without c.
stop_server chat3
firewall chat1 "10.0.0.2, 10.0.0.4"; firewall chat2 "10.0.0.1, 10.0.0.4"; firewall chat4 "10.0.0.1, 10.0.0.2"
cp "$WALK/chat1/etc/distchat/servers.txt" "$WALK/servers.txt"
sleep 2
touch "$WALK/writers.stop"; wait "$wpid" || { cat "$WALK/writers.out"; die "the writers failed"; }
sed 's/^/   /' "$WALK/writers.out"
same_status "3/3 up"
for id in a b d; do writers check --servers "'$WALK/servers.txt'" --acked "'$WALK/acked.json'" --server "$id" --room walk | sed 's/^/   /' || die "$id lacks acked messages"; done
ok "every acked message on a, b and d under its acked id; status agrees"
echo "   the users' servers.txt now: $(grep -c '^[abd] ' "$WALK/servers.txt") servers and \"$(grep retired "$WALK/servers.txt")\""
chat_check "hello after c retired"

step "11b. retiring a dead host: every process of chat4 (d) killed at once while clients write, then \"d retired\" on a and b"
rm -f "$WALK/writers.stop"
writers write --servers "'$WALK/servers.txt'" --room walk2 --count 2 --prefix v --out "'$WALK/acked2.json'" --stop "'$WALK/writers.stop'" > "$WALK/writers.out" 2>&1 &
wpid=$!
sleep 3
kill -9 $(ip netns pids "$P-chat4")
sleep 2
# Retiring, steps 1 and 2 skipped (d is dead: what it had acked is on a second disk); 3: "d retired" on a and b.
for h in chat1 chat2; do
  sed -i 's/^d .*/d retired/' "$WALK/$h/etc/distchat/servers.txt"; reload "$h"; waitlog "$h" "retired d"
done
firewall chat1 "10.0.0.2"; firewall chat2 "10.0.0.1"
cp "$WALK/chat1/etc/distchat/servers.txt" "$WALK/servers.txt"
sleep 2
touch "$WALK/writers.stop"; wait "$wpid" || { cat "$WALK/writers.out"; die "the writers failed"; }
sed 's/^/   /' "$WALK/writers.out"
same_status "2/2 up"
for id in a b; do
  for f in acked acked2; do
    room=$([[ $f == acked ]] && echo walk || echo walk2)
    writers check --servers "'$WALK/servers.txt'" --acked "'$WALK/$f.json'" --server "$id" --room "$room" --prefix "$f" | sed 's/^/   /' || die "$id lacks acked messages"
  done
done
ok "d's host dead and retired: every message acked before and during it on a and b; status 2/2 up, the same messages"

step "done: every step above passed"
