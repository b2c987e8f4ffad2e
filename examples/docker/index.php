<?php
// The example container's page: nginx, then php8.2-fpm, answered.
echo "hello from php-fpm ", PHP_VERSION, " as ", posix_getpwuid(posix_geteuid())["name"], "\n";
