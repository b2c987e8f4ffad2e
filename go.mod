module svcwrap

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/joho/godotenv v1.5.1
	github.com/mattn/go-shellwords v1.0.16
	github.com/sevlyar/go-daemon v0.1.6
	golang.org/x/sys v0.50.0
)

require github.com/kardianos/osext v0.0.0-20190222173326-2bc1f35cddc0 // indirect
