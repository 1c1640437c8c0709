#!/bin/sh
# The seven checks of the staging stage as one POSIX shell script: the work of
# variants (a) (one `ssh host sh -c`) and (f) (one ansible.builtin.raw task).
# Read-only; prints one line per check and always exits 0 (a scan reports, it
# does not fail). Same facts, read the same way, as the factiii stage's scan on
# a Debian host: pnpm's version from the package.json of the pnpm on PATH
# (node is not started), `pnpm --version` when pnpm is not an npm package.
app=/srv/app
url=file:///srv/git/app.git
pnpm_wanted=9.15.0
v=$(git --version 2>/dev/null) && echo "git-missing: ok ($v)" || echo "git-missing: would install git"
n=$(node --version 2>/dev/null)
major=${n#v}
major=${major%%.*}
if [ -n "$n" ] && [ "$major" -ge 18 ] && command -v npm >/dev/null; then
    echo "node-missing: ok (node $n, npm)"
else
    echo "node-missing: would install nodejs npm"
fi
if command -v docker >/dev/null && command -v dockerd >/dev/null; then
    echo "docker-missing: ok ($(docker --version))"
else
    echo "docker-missing: would install docker.io"
fi
if [ -d "$app/.git" ] && [ "$(git -C "$app" config --get remote.origin.url 2>/dev/null)" = "$url" ]; then
    echo "repo-not-cloned: ok (HEAD $(git -C "$app" rev-parse --short HEAD))"
else
    echo "repo-not-cloned: would clone $url into $app"
fi
p=
if bin=$(command -v pnpm); then
    dir=$(dirname "$(readlink -f "$bin")")
    for _ in 1 2 3; do
        if [ -f "$dir/package.json" ]; then
            grep -q '"name": *"pnpm"' "$dir/package.json" &&
                p=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$dir/package.json" | head -n 1)
            break
        fi
        dir=$(dirname "$dir")
    done
    [ -n "$p" ] || p=$(pnpm --version 2>/dev/null)
fi
[ "$p" = "$pnpm_wanted" ] && echo "pnpm-missing: ok (pnpm $p)" || echo "pnpm-missing: would install pnpm@$pnpm_wanted"
docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 && echo "docker-not-running: ok" || echo "docker-not-running: would start docker"
[ "$(systemctl is-enabled docker 2>/dev/null)" = enabled ] && echo "docker-autostart: ok" || echo "docker-autostart: would enable docker"
exit 0
