package cli_test

import "context"

var ctx = context.Background()
