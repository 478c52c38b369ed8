#!/bin/sh
# Test CGI: answers without ever reading its stdin.
printf 'Content-Type: text/plain\r\n\r\nignored stdin\n'
