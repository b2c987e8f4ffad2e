#! /bin/sh
### BEGIN INIT INFO
# Provides:          exampled
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Example daemon for the lsb tests
# Description:       A made-up service whose header is laid out
#                    like the one in Debian's skeleton script,
#                    written for the tests of package lsb.
### END INIT INFO

# Everything below the header is shell code that the parser ignores.
# Line with a colon: not a keyword, outside the block.
PATH=/sbin:/usr/sbin:/bin:/usr/bin
DESC="Example daemon"
NAME=exampled
DAEMON=/usr/sbin/$NAME

case "$1" in
  start) echo "Starting $DESC: $NAME" ;;
  *) exit 3 ;;
esac
