#!/usr/bin/env bash
# Completion: kubectl's own (through kubectl_complete-kstatus) and our scripts.
. "$(dirname "$0")/lib.sh"

out=$(kubectl __complete kstatus "" 2>/dev/null)
is "$(grep -v '^:' <<<"$out" | tr '\n' ' ')" "completion describe get inject lint merge trace wait version " \
        "kubectl's completion of 'kubectl kstatus <TAB>' lists the commands"
is "$(tail -1 <<<"$out")" ":4" "and offers no files there"
is "$(kubectl __complete kstatus merge --merge s 2>/dev/null | head -1)" shallow "flag values complete"
is "$(kubectl __complete kstatus lint -o "" 2>/dev/null | grep -v '^:' | tr '\n' ' ')" "json yaml " "-o values complete"
is "$(kubectl __complete kstatus lint "" 2>/dev/null | tail -1)" ":0" "file arguments fall back to file completion"

script=$(kubectl kstatus completion bash)
ok "the bash script is valid bash" bash -n <<<"$script"
got=$(bash -c "$script"'
COMP_WORDS=(kubectl-kstatus me); COMP_CWORD=1; _kubectl_kstatus; echo "${COMPREPLY[*]}"')
is "$got" "merge" "the bash script completes commands"
got=$(bash -c "$script"'
COMP_WORDS=(kubectl-kstatus merge --workflow c); COMP_CWORD=3; _kubectl_kstatus; echo "${COMPREPLY[*]}"')
is "$got" "configure" "the bash script completes flag values"
like "$(kubectl kstatus completion zsh | head -1)" '^#compdef kubectl-kstatus$' "a zsh script"
like "$(kubectl kstatus completion fish)" 'complete -c kubectl-kstatus' "a fish script"
fails_with 2 "an unknown shell is a usage error" kubectl kstatus completion tcsh
fails_with 2 "no shell is a usage error" kubectl kstatus completion
done_testing
