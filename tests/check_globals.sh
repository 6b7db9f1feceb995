#!/bin/sh
# No mutable globals in protocol code: every object file of src/net, src/netinet,
# src/netinet6 and src/socket in the library must define nothing in .data, .bss or
# thread-local sections (read-only data, including .data.rel.ro, is fine).  Per-stack
# state lives in the vnet; only src/kern may keep process-wide state.  Symbols the
# sanitizers add (__odr_asan.*, ...) are not the code's own.
set -eu
lib=$1
objdump -t "$lib" | awk '
	/^[^ ]+\.o:/ { member = $1; sub(/:$/, "", member); sub(/.*\//, "", member); next }
	member ~ /^src_(net|netinet|netinet6|socket)_/ &&
	    $0 ~ /[ \t]\.(data|bss|tdata|tbss)([ \t.]|$)/ && $0 !~ /\.data\.rel\.ro/ &&
	    $NF !~ /^\./ && $NF !~ /^_+(odr_)?(asan|tsan|ubsan|sancov)/ {
		print member ": " $NF; bad = 1
	}
	END { exit bad }
' && echo "no mutable globals in protocol code"
