# bash completion for svcwrap(8)                              -*- shell-script -*-
#
# Completes the admin subcommands and their flags, service names (from
# `svcwrap __complete services`, which honours SVCWRAP_INITDIR/SVCWRAP_CONFDIR),
# and the verbs of a service, custom ones included (`svcwrap __complete verbs
# NAME`, one per line), both for `svcwrap run NAME <TAB>` and for
# `/etc/init.d/NAME <TAB>` when /etc/init.d/NAME is a svcwrap service.

# _svcwrap_bin CMD: the svcwrap binary to ask: CMD itself when it is svcwrap.
_svcwrap_bin() {
    local cmd=$1
    if [[ $cmd == */* && -x $cmd ]]; then
        printf '%s\n' "$cmd"
    else
        type -P svcwrap 2>/dev/null || printf '%s\n' /usr/sbin/svcwrap
    fi
}

# _svcwrap_services BIN: every service name, one per line.
_svcwrap_services() {
    "$1" __complete services 2>/dev/null
}

# _svcwrap_verbs BIN NAME: every verb of NAME, one per line.
_svcwrap_verbs() {
    "$1" __complete verbs "$2" 2>/dev/null
}

# _svcwrap_verb_args VERB CUR: arguments of a verb (signal SIG).
_svcwrap_verb_args() {
    case $1 in
        signal)
            local sigs
            sigs=$(compgen -A signal | sed 's/^SIG//')
            COMPREPLY=($(compgen -W "$sigs" -- "$2"))
            ;;
        stop)
            COMPREPLY=($(compgen -W "--with-dependents" -- "$2"))
            ;;
    esac
}

_svcwrap() {
    local cur prev bin
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    bin=$(_svcwrap_bin "${COMP_WORDS[0]}")
    COMPREPLY=()

    local subcommands="list metrics check run new unit boot shutdown init version help"
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$subcommands --help" -- "$cur"))
        return 0
    fi

    # Words after the subcommand that are not flags, and whether a flag
    # argument is being completed.
    local sub=${COMP_WORDS[1]} i w
    local -a args=()
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            --exec | --user | --desc) ((i++)) ;;
            -*) ;;
            *) args+=("$w") ;;
        esac
    done

    case $sub in
        list)
            COMPREPLY=($(compgen -W "--json --help" -- "$cur"))
            ;;
        metrics)
            if [[ $prev == --textfile ]]; then
                COMPREPLY=($(compgen -d -- "$cur"))
            else
                COMPREPLY=($(compgen -W "--textfile --help" -- "$cur"))
            fi
            ;;
        check)
            if [[ $cur == */* ]]; then
                COMPREPLY=($(compgen -f -- "$cur"))
            elif ((${#args[@]} == 0)); then
                COMPREPLY=($(compgen -W "$(_svcwrap_services "$bin") --help" -- "$cur"))
            fi
            ;;
        run)
            if ((${#args[@]} == 0)); then
                COMPREPLY=($(compgen -W "$(_svcwrap_services "$bin")" -- "$cur"))
            elif ((${#args[@]} == 1)); then
                COMPREPLY=($(compgen -W "$(_svcwrap_verbs "$bin" "${args[0]}")" -- "$cur"))
            else
                _svcwrap_verb_args "${args[1]}" "$cur"
            fi
            ;;
        new)
            case $prev in
                --exec)
                    COMPREPLY=($(compgen -c -- "$cur"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -u -- "$cur"))
                    return 0
                    ;;
                --desc) return 0 ;;
                --pidfile)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--exec --user --desc --pidfile --forks --enable --symlink --force --help" -- "$cur"))
            fi
            ;;
        unit)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--all --install --force --help" -- "$cur"))
            elif ((${#args[@]} == 0)); then
                COMPREPLY=($(compgen -W "$(_svcwrap_services "$bin")" -- "$cur"))
            fi
            ;;
        boot | shutdown)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--timeout --help" -- "$cur"))
            elif ((${#args[@]} == 0)); then
                COMPREPLY=($(compgen -W "0 1 2 3 4 5 6 S" -- "$cur"))
            fi
            ;;
        init)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--runlevel --shutdown-runlevel --timeout --shutdown-timeout --help" -- "$cur"))
            fi
            ;;
        help)
            if ((${#args[@]} == 0)); then
                COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
            fi
            ;;
    esac
    return 0
}
complete -F _svcwrap svcwrap

# _svcwrap_initd completes /etc/init.d/NAME VERB ...: the binary is the script's
# #! interpreter (script mode) or the symlink's target (symlink mode).
_svcwrap_initd() {
    local script=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} bin line
    COMPREPLY=()
    if [[ -L $script ]]; then
        bin=$(readlink -f -- "$script")
    else
        IFS= read -r line <"$script" 2>/dev/null || return 0
        line=${line#\#!}
        bin=${line%% *}
    fi
    [[ -x $bin ]] || return 0
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$(_svcwrap_verbs "$bin" "${script##*/}")" -- "$cur"))
    elif ((COMP_CWORD == 2)); then
        _svcwrap_verb_args "${COMP_WORDS[1]}" "$cur"
    fi
    return 0
}

# _svcwrap_register_initd registers _svcwrap_initd for every svcwrap service in
# the init directory (its #! interpreter, or its symlink target, is svcwrap).
# bash-completion loads this file on the first `svcwrap <TAB>`; source it from
# ~/.bashrc to complete /etc/init.d/NAME from the start of a shell.
_svcwrap_register_initd() {
    local dir=${SVCWRAP_INITDIR:-/etc/init.d} f line target
    for f in "$dir"/*; do
        [[ -f $f ]] || continue
        if [[ -L $f ]]; then
            target=$(readlink -f -- "$f")
            [[ ${target##*/} == svcwrap ]] || continue
        else
            IFS= read -r line <"$f" 2>/dev/null || continue
            [[ $line == '#!'* ]] || continue
            line=${line#\#!}
            line=${line%% *}
            [[ ${line##*/} == svcwrap ]] || continue
        fi
        complete -F _svcwrap_initd "$f"
    done
}
_svcwrap_register_initd

# ex: filetype=sh
