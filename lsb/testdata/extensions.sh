#!/bin/sh
# A header with every list keyword, X- extensions, tabs, odd case and a
# Description written with tab continuation lines.

### BEGIN INIT INFO
# Provides:		webcache webcache-admin
# Required-Start:	$local_fs $network $named
# Required-Stop:	$local_fs $network
# Should-Start:		$time slapd
# Should-Stop:		slapd
# X-Start-Before:	frontend
# X-Interactive:	true
# default-start:	S
# Default-Stop:
# short-description:	Caching proxy for the test suite
# Description:	First line of the description.
#	Second line, after a tab.
#
#	Third line, after an empty comment line.
### END INIT INFO

exit 0
