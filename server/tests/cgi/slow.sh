#!/bin/sh
# Test CGI: never answers (a child process too, to check the whole group dies).
sleep 30 &
sleep 30
