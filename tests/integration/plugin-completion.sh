#!/usr/bin/env bash
# Completion: kubectl's own (through kubectl_complete-kstatus) and our scripts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
. "$(dirname "$0")/lib-plugin.sh"

out=$(kubectl __complete kstatus "" 2>/dev/null)
is "$(grep -v '^:' <<<"$out" | tr '\n' ' ')" "completion describe get inject lint logs merge trace wait version " \
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
is "$(kubectl __complete kstatus logs -c w 2>/dev/null | head -1)" work-writer "logs -c offers Kratix's containers"
is "$(kubectl __complete kstatus logs --p 2>/dev/null | grep -v '^:' | tr '\n' ' ')" "--pipeline --previous " "logs' flags complete"

# From the cluster: the candidates kubectl's own completion gives for kubectl get.
start_apiserver || exit 1
apiserver_install_crds
plugin_fixture
kubectl create ns team-a >/dev/null
kubectl create -n team-a -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: other}
spec: {size: 1Gi}
EOT
# compare WORDS...: kubectl kstatus's candidates against kubectl's for `kubectl get WORDS...` (the
# last word the one being completed); the command after kstatus is CMD (default get).
compare() {
        local cmd=$1 desc=$2; shift 2
        local want got
        want=$(kubectl __complete get "$@" 2>/dev/null)
        got=$(kubectl __complete kstatus "$cmd" "$@" 2>/dev/null)
        if [ -z "$(grep -v '^:' <<<"$want")" ]; then
                is "$got" "NONEMPTY" "$desc (kubectl offered nothing: the comparison would prove nothing)"
        else
                is "$got" "$want" "$desc"
        fi
}
compare get "resource types from discovery, as kubectl get <TAB>" ""
compare describe "types by prefix (describe d<TAB>)" d
compare get "names from the cluster (get databases <TAB>)" databases ""
compare wait "names of a short name (wait db <TAB>)" db ""
compare logs "TYPE/NAME (logs database/<TAB>)" database/
compare get "names in -n's namespace" -n team-a db ""
compare get "names in --namespace=NS's namespace" --namespace=team-a db ""
compare get "-A: the namespace's names still, as kubectl's completion" -A db ""
compare get "namespaces (-n <TAB>)" -n ""
compare get "namespaces (--namespace=t<TAB>)" --namespace=t
compare get "contexts (--context <TAB>)" --context ""
is "$(kubectl __complete kstatus get databases example "" 2>/dev/null)" "$(kubectl __complete get databases example "" 2>/dev/null)" \
        "a name already typed is not offered again, as kubectl"
is "$(kubectl __complete kstatus logs db example "" 2>/dev/null)" ":4" "logs takes one name: nothing after it"
is "$(kubectl __complete kstatus get nosuchtype "" 2>/dev/null)" ":4" "an unknown type: no names, no error on stdout"
got=$(bash -c "$script"'
COMP_WORDS=(kubectl-kstatus get databases e); COMP_CWORD=3; _kubectl_kstatus; echo "${COMPREPLY[*]}"')
is "$got" "example" "the bash script completes names from the cluster"
done_testing
