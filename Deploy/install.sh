#!/usr/bin/env bash
# Installs Conduit as system services, or removes it.
#
#   bash Deploy/install.sh [--prefix /usr/local] [--root DIR [--paths-under-root]] [--binary PATH]
#   bash Deploy/install.sh --uninstall [--purge] [--prefix /usr/local] [--root DIR]
#
# Installs:
#   PREFIX/bin/conduit                       built here (swift build -c release --product conduit), or --binary PATH
#   /etc/systemd/system/conduit-broker.service, conduit-aggregator.service, conduit-dashboard.service,
#                                            conduit-agent@.service
#                                            from Deploy/systemd, their ExecStart naming PREFIX/bin/conduit
#   /etc/conduit/conduit.json                the one configuration file (from Deploy/conduit.json), checked with
#                                            conduit config check
#   /etc/conduit/keys/                       CURVE key pairs made with the installed binary: broker, conduit (the
#                                            aggregator), coordinator, and one per organisation of the built-in plan
#   /etc/conduit/authorisation.json          a principal for every key but the broker's (conduit-authorisation/1)
#   /var/lib/conduit/, /var/lib/conduit/outbox/, /var/spool/conduit/<organisation>/
# The binary and the units are replaced; an existing conduit.json, authorisation.json or key is never overwritten.
# Running it again changes nothing else.
#
# --root DIR installs under DIR instead of / (as DESTDIR does); the installed files still name the target's paths
# (/etc/conduit/…, PREFIX/bin/conduit), unless --paths-under-root is given too: then every path written into them
# is under DIR, so that the installed binary can be run against the installed configuration without being root.
# Only for the real root, run as root: the system user conduit is made if missing, the data directories and the
# secret keys the services use are given to it, and systemd reloads its units when it is running.
#
# --uninstall removes the binary, the units and the links that enable them, and keeps the configuration, the
# keys and the data; --purge removes those too (/etc/conduit, /var/lib/conduit, /var/spool/conduit).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash Deploy/install.sh [--prefix DIR] [--root DIR [--paths-under-root]] [--binary PATH]
       bash Deploy/install.sh --uninstall [--purge] [--prefix DIR] [--root DIR]
  --prefix DIR         where the binary goes: DIR/bin/conduit (default /usr/local)
  --root DIR           install under DIR instead of / (the installed files name the target's paths)
  --paths-under-root   with --root: the installed files name paths under DIR (to run them there, for tests)
  --binary PATH        install this conduit executable instead of building one with swift build
  --uninstall          remove the binary and the units; keep configuration, keys and data
  --purge              with --uninstall: remove the configuration, the keys and the data too
EOF
}

fail() {
    echo "install: $*" >&2
    exit 1
}

step() { echo "install: $*"; }

prefix=/usr/local
root=""
paths_under_root=false
binary=""
uninstall=false
purge=false
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix | --root | --binary)
            if [ $# -lt 2 ] || [ -z "$2" ]; then
                echo "install: $1 needs a value" >&2
                usage >&2
                exit 64
            fi
            case "$1" in
                --prefix) prefix="$2" ;;
                --root) root="$2" ;;
                --binary) binary="$2" ;;
            esac
            shift 2
            ;;
        --paths-under-root) paths_under_root=true; shift ;;
        --uninstall) uninstall=true; shift ;;
        --purge) purge=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *)
            echo "install: unknown option $1" >&2
            usage >&2
            exit 64
            ;;
    esac
done

if [ -n "$binary" ] && ! { [ -f "$binary" ] && [ -x "$binary" ]; }; then
    echo "install: --binary $binary is not an executable file" >&2
    exit 66
fi
case "$prefix" in
    /*) prefix="${prefix%/}" ;;
    *) echo "install: --prefix must be an absolute path, not $prefix" >&2; exit 64 ;;
esac
if [ -n "$root" ]; then
    mkdir -p "$root"
    root="$(cd "$root" && pwd -P)"
    if [ "$root" = / ]; then root=""; fi
fi
if $paths_under_root && [ -z "$root" ]; then
    echo "install: --paths-under-root goes with --root DIR" >&2
    exit 64
fi
if $paths_under_root && [[ "$root" =~ [[:space:]%\$\\] ]]; then
    fail "--paths-under-root: $root would not fit in a unit's ExecStart line (a space, %, \$ or \\ in it)"
fi
if $purge; then uninstall=true; fi

repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
units=(conduit-broker.service conduit-aggregator.service conduit-dashboard.service conduit-agent@.service)
unit_directory="$root/etc/systemd/system"
installed_binary="$root$prefix/bin/conduit"
configuration_directory="$root/etc/conduit"
keys="$configuration_directory/keys"
state="$root/var/lib/conduit"
spool="$root/var/spool/conduit"

# The real system, as root: users, ownership and systemd.
system=false
if [ -z "$root" ]; then
    [ "$(id -u)" -eq 0 ] || fail "installing into / needs root (sudo bash Deploy/install.sh …), or give --root DIR"
    system=true
fi
systemd_running=false
if $system && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then systemd_running=true; fi

# What the installed files name: the target's paths, or (--paths-under-root) the same under DIR.
shown="$root"
$paths_under_root || shown=""

# Rewrites the target's paths in a unit or configuration file (standard input) to those it is installed with.
rewrite_paths() {
    local escaped_prefix escaped_shown
    escaped_prefix="$(printf '%s' "$prefix" | sed 's/[\\&|]/\\&/g')"
    escaped_shown="$(printf '%s' "$shown" | sed 's/[\\&|]/\\&/g')"
    sed -e "s|/usr/local/bin/conduit|$escaped_shown$escaped_prefix/bin/conduit|g" \
        -e "s|\([ \"=]\)/etc/conduit/|\1$escaped_shown/etc/conduit/|g" \
        -e "s|\([ \"=]\)/var/lib/conduit/|\1$escaped_shown/var/lib/conduit/|g" \
        -e "s|\([ \"=]\)/var/spool/conduit/|\1$escaped_shown/var/spool/conduit/|g"
}

# Writes standard input to $1 with mode $2, replacing the file in one rename.
write_file() {
    local target="$1" mode="$2" temporary
    temporary="$(mktemp "$(dirname "$target")/.install.XXXXXX")"
    cat >"$temporary"
    chmod "$mode" "$temporary"
    mv -f "$temporary" "$target"
}

# A directory with a mode (and, on the real system, an owner).
make_directory() {
    local path="$1" mode="$2" owner="${3:-}"
    if [ -d "$path" ]; then
        chmod "$mode" "$path"
    else
        mkdir -p "$path"
        chmod "$mode" "$path"
        step "made $path"
    fi
    if $system && [ -n "$owner" ]; then chown "$owner" "$path"; fi
}

# The organisations of the built-in plan, one "id roles" line each (roles comma-separated), from the plan
# document the installed binary prints (one member per line, string arrays on one line).
plan_organisations() {
    "$installed_binary" plan show --json | awk '
        /^  "organisations": \[/ { inside = 1; next }
        inside && /^  \]/ { exit }
        inside && /^      "id": "/ { id = $0; sub(/^      "id": "/, "", id); sub(/".*$/, "", id) }
        inside && /^      "roles": \[/ { roles = $0; sub(/^      "roles": \[/, "", roles); sub(/\].*$/, "", roles); gsub(/[" ]/, "", roles) }
        inside && /^    }/ { if (id != "") print id, roles; id = ""; roles = "" }'
}

# The role an organisation's key gets, from its roles in the plan: a utility's agent reports its work and
# outages (agent), an inspecting body its inspections (inspector), a coordinating office acknowledges ledger
# entries and may change the plan (coordinator); any other organisation's key reports as an agent, and the plan
# decides what it may publish.
key_role() {
    case ",$1," in
        *,utility,*) echo agent ;;
        *,inspector,*) echo inspector ;;
        *,coordinator,*) echo coordinator ;;
        *) echo agent ;;
    esac
}

if $uninstall; then
    if $systemd_running; then
        step "stopping and disabling the conduit services"
        systemctl stop 'conduit-agent@*.service' conduit-aggregator.service conduit-broker.service || true
        systemctl disable conduit-aggregator.service conduit-broker.service >/dev/null 2>&1 || true
    fi
    if [ -d "$unit_directory" ]; then
        while IFS= read -r -d '' link; do
            rm -f "$link"
            step "removed $link"
        done < <(find "$unit_directory" -mindepth 2 -maxdepth 2 -type l -name 'conduit-*.service' -print0)
    fi
    for unit in "${units[@]}"; do
        if [ -e "$unit_directory/$unit" ]; then
            rm -f "$unit_directory/$unit"
            step "removed $unit_directory/$unit"
        fi
    done
    if [ -e "$installed_binary" ]; then
        rm -f "$installed_binary"
        step "removed $installed_binary"
    fi
    if $systemd_running; then
        systemctl daemon-reload
        step "systemd reloaded its units"
    fi
    if $purge; then
        for path in "$configuration_directory" "$state" "$spool"; do
            if [ -e "$path" ]; then
                rm -rf "$path"
                step "removed $path"
            fi
        done
        if $system && getent passwd conduit >/dev/null; then
            step "kept the system user conduit (userdel conduit removes it)"
        fi
    else
        step "kept $configuration_directory (configuration and keys), $state and $spool (data); --purge removes them"
    fi
    exit 0
fi

# The binary.
if [ -z "$binary" ]; then
    command -v swift >/dev/null || fail "the Swift toolchain is not on PATH: install it, or give --binary PATH"
    step "building conduit (swift build -c release --product conduit)"
    (cd "$repository" && swift build -c release --product conduit >&2)
    binary="$repository/.build/release/conduit"
fi
[ -x "$binary" ] || fail "the build left no executable at $binary"

if $system && ! getent passwd conduit >/dev/null; then
    if getent group conduit >/dev/null; then group_option=(--gid conduit); else group_option=(--user-group); fi
    useradd --system --no-create-home --home-dir /var/lib/conduit --shell /usr/sbin/nologin \
        --comment "Conduit event hub" "${group_option[@]}" conduit
    step "made the system user conduit"
fi

mkdir -p "$(dirname "$installed_binary")"
if [ "$binary" -ef "$installed_binary" ]; then
    step "$installed_binary is the binary given"
else
    install -m 0755 "$binary" "$installed_binary.new"
    mv -f "$installed_binary.new" "$installed_binary"
    step "installed $installed_binary"
fi

mkdir -p "$unit_directory"
for unit in "${units[@]}"; do
    rewrite_paths <"$repository/Deploy/systemd/$unit" | write_file "$unit_directory/$unit" 0644
    step "installed $unit_directory/$unit"
done

# Directories: configuration (keys readable by the services' group only), data, outboxes, spool.
make_directory "$configuration_directory" 0755 root:root
make_directory "$keys" 0750 root:conduit
make_directory "$state" 0750 conduit:conduit
make_directory "$state/outbox" 0750 conduit:conduit
make_directory "$spool" 0755 root:root

if [ -e "$configuration_directory/conduit.json" ]; then
    step "kept existing $configuration_directory/conduit.json"
    # An operator's file: a problem is reported, and the services will report it too when they start.
    if checked="$("$installed_binary" config check "$configuration_directory/conduit.json" 2>&1)"; then
        step "checked: $checked"
    else
        echo "install: warning: $checked" >&2
    fi
else
    rewrite_paths <"$repository/Deploy/conduit.json" | write_file "$configuration_directory/conduit.json" 0644
    step "wrote $configuration_directory/conduit.json"
    checked="$("$installed_binary" config check "$configuration_directory/conduit.json" 2>&1)" || fail "$checked"
    step "checked: $checked"
fi

organisations="$(plan_organisations)"
[ -n "$organisations" ] || fail "could not read the organisations of the built-in plan from: $installed_binary plan show --json"
while read -r id _; do
    [[ "$id" =~ ^[a-z0-9]+(-[a-z0-9]+)*$ ]] || fail "the plan printed an organisation id this script does not understand: $id"
done <<<"$organisations"
coordinating="$(awk '$2 ~ /(^|,)coordinator(,|$)/ { print $1; exit }' <<<"$organisations")"

# Keys: made with the installed binary, never replaced.
make_key() {
    local owner="$1"
    if [ -e "$keys/$owner.key" ] || [ -e "$keys/$owner.pub" ]; then
        step "kept existing key $keys/$owner.key"
    else
        "$installed_binary" keygen --owner "$owner" --dir "$keys" >/dev/null
        step "made key $keys/$owner.key"
    fi
}
make_key broker
make_key conduit
if [ -n "$coordinating" ]; then
    make_key coordinator
    make_key dashboard
fi
while read -r id _; do make_key "$id"; done <<<"$organisations"

# Spool directories, one per organisation: its systems drop *.jsonl files there for its agent.
while read -r id _; do make_directory "$spool/$id" 2770 conduit:conduit; done <<<"$organisations"

# The principals: the aggregator (organisation conduit), the coordinator, and each organisation's key.
if [ -e "$configuration_directory/authorisation.json" ]; then
    step "kept existing $configuration_directory/authorisation.json"
else
    {
        echo '{'
        echo '  "format": "conduit-authorisation/1",'
        echo '  "principals": ['
        printf '    {"name": "aggregator", "organisation": "conduit", "role": "aggregator", "keyFiles": ["keys/conduit.pub"]}'
        if [ -n "$coordinating" ]; then
            printf ',\n    {"name": "coordinator", "organisation": "%s", "role": "coordinator", "keyFiles": ["keys/coordinator.pub"]}' "$coordinating"
            printf ',\n    {"name": "dashboard", "organisation": "%s", "role": "dashboard", "keyFiles": ["keys/dashboard.pub"]}' "$coordinating"
        fi
        while read -r id roles; do
            printf ',\n    {"name": "%s", "organisation": "%s", "role": "%s", "keyFiles": ["keys/%s.pub"]}' \
                "$id" "$id" "$(key_role "$roles")" "$id"
        done <<<"$organisations"
        printf '\n  ]\n}\n'
    } | write_file "$configuration_directory/authorisation.json" 0644
    step "wrote $configuration_directory/authorisation.json ($(wc -l <<<"$organisations") organisations, aggregator, coordinator, dashboard)"
fi

if $system; then
    # The services run as conduit and read their own secret keys; the coordinator's is for a person, not a service.
    for secret in "$keys"/*.key; do
        [ "$(basename "$secret")" = coordinator.key ] && continue
        chown conduit:conduit "$secret"
        chmod 0600 "$secret"
    done
    step "gave the services' secret keys in $keys to the user conduit (mode 0600)"
    if $systemd_running; then
        systemctl daemon-reload
        step "systemd reloaded its units"
    else
        step "systemd is not running here: no daemon-reload"
    fi
fi
step "done: $installed_binary, units in $unit_directory, configuration in $configuration_directory"
