module github.com/kopf/kopf/bench

go 1.26.0

replace github.com/kopf/kopf => ../

require (
	github.com/adhocore/gronx v1.20.4
	github.com/hashicorp/cronexpr v1.1.3
	github.com/kopf/kopf v0.0.0-00010101000000-000000000000
	github.com/robfig/cron/v3 v3.0.1
)

require (
	github.com/alecthomas/participle/v2 v2.1.4 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
