#!/bin/bash
# loomctl's completions: the bash one offers the right words (with a stand-in
# loomctl for what it asks the daemon), names every command of the usage,
# and the zsh one parses.  Run by make check with LOOM_BUILDDIR set.
set -u

srcdir=${srcdir:-.}
bash_file=$srcdir/contrib/completion/bash/loomctl
zsh_file=$srcdir/contrib/completion/zsh/_loomctl
real=${LOOM_BUILDDIR:-.}/loomctl
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Without the bash-completion package: what its _init_completion sets.
if ! declare -F _init_completion >/dev/null; then
	_init_completion() {
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	}
	_filedir() { COMPREPLY=(); }
	compopt() { :; }
fi
# shellcheck source=/dev/null
. "$bash_file"

# The daemon as the completion sees it: two queues, two jobs.
loomctl() {
	case "$*" in
	-h)
		"$real" -h ;;
	*"queue list"*)
		printf 'QUEUE    WAITING\ndefault        0\nimages         3\n' ;;
	*"list --limit"*)
		printf 'ID  STATE    TYPE\n17  running  sleep\n18  queued   echo\n' ;;
	esac
}

# complete WORDS...: what completing the last word offers, sorted.
complete_words() {
	COMP_WORDS=(loomctl "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_loomctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

expect() {
	local want=$1 got
	shift
	got=$(complete_words "$@")
	[ "$got" = "$want" ] || fail "loomctl $* -> '$got', wanted '$want'"
}

expect 'stats status submit ' s
expect 'queue ' qu
expect 'list pause resume ' queue ''
expect 'default images ' queue pause ''
expect 'images ' -s /x queue resume i
expect '--wait --wait-timeout ' submit echo --wa
expect 'sleep ' submit sl
expect 'default images ' submit echo --queue ''
expect '17 18 ' status ''
expect 'done ' list --state do
expect 'clear get set ' event ''
expect '--interval ' top --int
expect '--no-color ' --no

# Every command the usage lists can be completed (the completion reads
# them from loomctl -h, so that it follows the binary).
if [ -x "$real" ]; then
	usage=$("$real" -h | awk '/^Commands:/ { on = 1; next }
	    /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort -u)
	for c in submit top queue; do
		case " $(echo $usage) " in
		*" $c "*) ;;
		*) fail "'$c' is not among the usage's commands: $(echo $usage)" ;;
		esac
	done
	for c in $usage; do
		case " $(complete_words '') " in
		*" $c "*) ;;
		*) fail "the usage's command '$c' is not completed" ;;
		esac
	done
else
	fail "no loomctl at $real"
fi

if command -v zsh >/dev/null; then
	zsh -n "$zsh_file" || fail "$zsh_file does not parse"
else
	echo "zsh is not installed: the zsh completion is not checked"
fi

[ "$failures" -eq 0 ] || exit 1
echo "completions: ok"
