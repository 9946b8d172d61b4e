module example.com/cosmosapp

go 1.26

require github.com/lapisdev/lapis/sdk v0.0.0

replace github.com/lapisdev/lapis/sdk => ../../../../../../sdk
