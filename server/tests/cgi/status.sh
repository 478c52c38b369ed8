#!/bin/sh
# Test CGI: a Status header and a Location header.
case "$QUERY_STRING" in
  redirect) printf 'Location: /elsewhere\r\n\r\n' ;;
  *) printf 'Status: 418 I am a teapot\r\nContent-Type: text/plain\r\n\r\nshort and stout\n' ;;
esac
