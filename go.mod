module svcwrap

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/joho/godotenv v1.5.1
	github.com/mattn/go-shellwords v1.0.16
	golang.org/x/sys v0.50.0
)
