#!/bin/sh
### BEGIN INIT INFO
# Provides:          crlfd
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Written with CRLF line ends
### END INIT INFO   
exit 0
