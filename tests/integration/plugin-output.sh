#!/usr/bin/env bash
# Write errors are not swallowed: every command that prints, with stdout on a
# full disk (/dev/full), fails with one error line instead of exiting 0 with
# nothing shown, as git does. A reader that stops early (EPIPE) is no error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-apiserver.sh"
cd "$TEST_TMP" || exit 1
start_apiserver --access-log "$TEST_TMP/access.log" || exit 1
apiserver_install_crds
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: example, namespace: default}
spec: {}
EOT
kubectl patch db example --subresource=status --type merge -p '{"status":{"message":"ready"}}' >/dev/null
printf 'message: hello\niam: {user: alice}\n' >status.yaml
printf 'iam: {password: secret}\n' >second.yaml
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox}]\n' >pod.yaml

full_error="error: unable to write to standard output: No space left on device"

# full CMD...: CMD with stdout on /dev/full exits 1 and says why in one line.
full() {
        local err rc
        err=$("$@" 2>&1 >/dev/full)
        rc=$?
        is "$rc:$err" "1:$full_error" "$* >/dev/full: exit 1, one error line"
}

full kubectl kstatus version
full kubectl kstatus version -o json
full kubectl kstatus version -o yaml
full kubectl kstatus --version
full kubectl kstatus --help
full kubectl kstatus help merge
full kubectl kstatus merge --help
full kubectl kstatus completion bash
full kubectl kstatus completion zsh
full kubectl kstatus __complete get ''
full kubectl kstatus lint status.yaml
full kubectl kstatus lint -o yaml status.yaml
full kubectl kstatus merge -o json status.yaml second.yaml
full kubectl kstatus merge -o yaml status.yaml second.yaml
full kubectl kstatus inject -f pod.yaml
full kubectl kstatus describe db example
full kubectl kstatus describe db example -o json
full kubectl kstatus describe db example -o yaml
full kubectl kstatus get db
full kubectl kstatus get db -o yaml
full kubectl kstatus wait db/example --for=message=ready --timeout=10s
# get -w prints the list, then would watch forever: it stops at once.
full timeout 20 kubectl kstatus get db -w -o name

# A failure that the command already reports keeps its own exit code.
err=$(kubectl kstatus lint missing.yaml 2>&1 >/dev/full); rc=$?
like "$rc:$err" "^1:error: .*missing.yaml.*
$full_error\$" "an error exit keeps its code; the write failure is said as well"
err=$(kubectl kstatus describe db nope 2>&1 >/dev/full); rc=$?
like "$rc:$err" '^1:Error from server \(NotFound\)' "describe: not found still exits 1 with nothing to print"

# get -w with nothing listed: the first change it cannot print stops the watch.
seen=$(wc -l <"$TEST_TMP/access.log")
kubectl kstatus get db -l wave=later -w -o name >/dev/full 2>"$TEST_TMP/watch.err" &
watch_pid=$!
at_exit "kill $watch_pid 2>/dev/null"
# Create only once its list was answered (a line after the earlier commands'
# ones: the access log has no query), so the object comes through the watch.
list_line='GET /apis/example.promise.syntasso.io/v1/namespaces/default/databases 200$'
for _ in $(seq 1 200); do
        tail -n +"$((seen + 1))" "$TEST_TMP/access.log" | grep -q "$list_line" && break
        sleep 0.05
done
kubectl create -f - >/dev/null <<'EOT'
apiVersion: example.promise.syntasso.io/v1
kind: Database
metadata: {name: later, namespace: default, labels: {wave: later}}
spec: {}
EOT
for _ in $(seq 1 200); do
        kill -0 "$watch_pid" 2>/dev/null || break
        sleep 0.05
done
if kill -0 "$watch_pid" 2>/dev/null; then
        rc="still watching after 10 s"
else
        wait "$watch_pid"; rc=$?
fi
is "$rc:$(cat "$TEST_TMP/watch.err")" "1:No resources found in default namespace.
$full_error" "get -w: a change it cannot print stops the watch, exit 1"

# A reader that closed the pipe chose to stop reading (git ignores EPIPE
# too): with SIGPIPE ignored the write fails with EPIPE, and that is no error.
# shellcheck disable=SC2016 # perl code, not shell
closed_pipe='$SIG{PIPE} = "IGNORE"; pipe(R, W) or die; close R; open(STDOUT, ">&W") or die; close W; exec @ARGV'
err=$(perl -e "$closed_pipe" kubectl-kstatus version -o yaml 2>&1); rc=$?
is "$rc:$err" "0:" "a closed pipe (EPIPE) is no error"

# Output that reaches its file is unchanged, and the exit code is 0.
ok "version to a file exits 0" kubectl kstatus version
is "$(kubectl kstatus merge -o json status.yaml second.yaml | jq -c .iam)" '{"password":"secret","user":"alice"}' \
        "merge prints as before"

done_testing
