module github.com/lapisdev/lapis/sdk

go 1.26
