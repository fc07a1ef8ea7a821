package main
import (
 _ "github.com/jackc/pgx/v5"
 _ "github.com/dave/jennifer/jen"
 _ "gopkg.in/yaml.v3"
 _ "github.com/google/go-cmp/cmp"
 _ "github.com/urfave/cli/v2"
)
func main(){}
