module example.com/customhandler

go 1.26
