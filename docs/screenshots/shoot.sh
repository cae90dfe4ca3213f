#!/bin/sh
# Renders PNGs of the trader dashboard's main states into docs/screenshots/.
#
# Nothing is mocked: two `tickwire server` processes (primary and backup)
# replay the embedded OANDA ticks on loopback, `tickwire trader --paper` runs
# under tmux, and the script walks it through the states a trader must be
# able to tell apart, pausing a symbol's source over REST and killing
# servers. Each screen is `tmux capture-pane -e` -> aha -> headless chromium.
#
# Usage: docs/screenshots/shoot.sh [BIN [OUTDIR]]   (make screenshots)
set -eu

BIN=${1:-bin/tickwire}
OUT=${2:-docs/screenshots}
COLS=100
ROWS=30
work=$(mktemp -d)
sock="tickwire-shots-$$"
pids=""

cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in tmux aha chromium curl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "shoot.sh: $tool is required (make screenshots installs it)" >&2; exit 1; }
done
mkdir -p "$OUT"

stale_flag=""
if "$BIN" server --help 2>&1 | grep -q -- "-stale-after "; then
	stale_flag="--stale-after 2s"
fi

# start_server NAME LISTEN: starts a server, waits for it, sets $addr.
start_server() {
	# shellcheck disable=SC2086 # $stale_flag is empty or two words
	"$BIN" server --listen "$2" --name "$1" --replay embedded --speed 4 $stale_flag \
		--log "$work/$1.log" >"$work/$1.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	eval "pid_$1=$pid"
	i=0
	until grep -q "listening on" "$work/$1.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "server $1 did not start:" >&2; cat "$work/$1.out" >&2; exit 1; }
		sleep 0.1
	done
	addr=$(sed -n 's|.*listening on ws://\([^/]*\)/ws.*|\1|p' "$work/$1.out" | head -n 1)
}

screen() { tmux -L "$sock" capture-pane -p -t tw; }

# wait_for REGEX [SECONDS]: polls the screen until it matches.
wait_for() {
	i=0
	limit=$((${2:-20} * 10))
	until screen | grep -Eq -- "$1"; do
		i=$((i + 1))
		if [ $i -ge $limit ]; then
			echo "shoot.sh: screen never showed /$1/:" >&2
			screen >&2
			exit 1
		fi
		sleep 0.1
	done
}

keys() { tmux -L "$sock" send-keys -t tw "$@"; }

# send_order: presses enter on the form, and again if it warns that the
# price is not current (real ticks can pause for seconds).
send_order() {
	keys Enter
	sleep 0.5
	if screen | grep -q "y sends anyway"; then keys y; fi
}

# shot NAME: the current screen, in colour, as $OUT/NAME.png.
shot() {
	tmux -L "$sock" capture-pane -e -p -t tw >"$work/$1.ansi"
	{
		printf '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
		printf 'html,body{margin:0;background:#1c1c1c}'
		printf 'pre{margin:0;padding:10px 12px;color:#d0d0d0;font:14px/17px "DejaVu Sans Mono",monospace}'
		printf '</style></head><body><pre>'
		# aha drops "bright" when a background reset follows, and its
		# colours are the garish HTML names: give bright black (muted text,
		# rules) a 256-colour grey first, then map the names to a calmer
		# terminal palette, black text staying black rather than dimgray.
		esc=$(printf '\033')
		sed "s/${esc}\[90m/${esc}[38;5;245m/g" "$work/$1.ansi" | aha --black --no-header | sed \
			-e 's/color:dimgray/color:#101010/g' -e 's/:lime/:#87c35f/g' -e 's/:aqua/:#4fb8c8/g' \
			-e 's/:yellow/:#dfaf5f/g' -e 's/:red/:#e06c6c/g' -e 's/:#3333FF/:#6c8fe0/g' \
			-e 's/:fuchsia/:#c08fd8/g' -e 's/:white/:#d0d0d0/g'
		printf '</pre></body></html>\n'
	} >"$work/$1.html"
	width=$((COLS * 85 / 10 + 24))
	height=$((ROWS * 17 + 20))
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$(mktemp -d -p "$work")" --hide-scrollbars \
		--window-size="$width,$height" --screenshot="$OUT/$1.png" "file://$work/$1.html" >/dev/null 2>&1
	echo "  $OUT/$1.png"
}

start_server primary 127.0.0.1:0
primary=$addr
start_server backup 127.0.0.1:0
backup=$addr
cat >"$work/trader.json" <<EOF
{
  "title": "tickwire trader",
  "servers": [{"url": "ws://$primary/ws", "role": "primary"}, {"url": "ws://$backup/ws", "role": "backup"}],
  "watchlist": ["EURUSD", "NZDUSD"],
  "stale_after": "5s"
}
EOF

tmux -L "$sock" new-session -d -s tw -x "$COLS" -y "$ROWS" \
	"TERM=xterm-256color $BIN trader --config $work/trader.json --paper --log $work/trader.log"

echo "screenshots:"
# Live: both symbols priced, a few seconds of sparkline.
wait_for "● connected .*node primary"
wait_for '│ EURUSD │ +[0-9]+\.[0-9]+ │'
wait_for '│ NZDUSD │ +[0-9]+\.[0-9]+ │'
sleep 4
shot board

# One symbol's source stops: its row alone is marked.
curl -fsS -X POST -H 'Content-Type: application/json' "http://$primary/sources/pause/NZDUSD" >/dev/null
wait_for '│ NZDUSD │.*│ (FEED-STALE|STALE) ' 15
shot feed-stale

# Orders on paper: a limit buy that half fills, and one over the limit, rejected.
keys b
sleep 0.3
keys 100000
send_order
wait_for 'PartFill'
keys b
sleep 0.3
keys 2000000
send_order
wait_for 'Rejected'
keys Tab
sleep 0.5
shot blotter

# An order entry error: a quantity that is not a number, no limit price.
keys BTab
sleep 0.3
keys b
sleep 0.3
keys 10k
keys Tab
keys Tab
keys C-u
keys Enter
wait_for '✖ 2 fields to fix'
shot order-entry-error
keys Escape

# The link is cut: both servers gone; every row FROZEN, retries counting down.
kill -9 "$pid_backup" "$pid_primary"
wait_for 'reconnecting #[3-9] in' 20
shot link-down

# The backup comes back on its port: failed over.
start_server backup "$backup"
wait_for 'FAILED OVER' 20
sleep 1
shot failed-over

keys '?'
sleep 0.5
shot help
keys q
