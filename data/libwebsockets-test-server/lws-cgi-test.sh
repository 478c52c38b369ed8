#!/bin/sh
# The bundled config's /testcgi mount (the seed vhost has one): a small CGI
# script that shows what it was given.
printf 'Content-Type: text/html\r\n\r\n'
printf '<!doctype html><html><body><h1>CGI test</h1><pre>\n'
printf 'REQUEST_METHOD=%s\nQUERY_STRING=%s\nPATH_INFO=%s\nREMOTE_ADDR=%s\n' \
	"$REQUEST_METHOD" "$QUERY_STRING" "$PATH_INFO" "$REMOTE_ADDR"
printf 'body bytes: %s\n' "$(cat | wc -c | tr -d ' ')"
printf '</pre></body></html>\n'
