package commands

import (
	"fmt"
	"svcwrap/definition"
)

// CompleteCmd is the hidden `svcwrap __complete` that bash completion asks:
// `svcwrap __complete services` prints every service name, `svcwrap __complete
// verbs NAME` every verb of NAME (built-in, then custom), one per line. It prints
// nothing and exits 0 when there is nothing to offer: completion must never show an
// error.
type CompleteCmd struct {
	What string `arg:"" enum:"services,verbs" help:"services, or verbs NAME."`
	Name string `arg:"" optional:"" help:"Service name (for verbs)."`
}

func (c CompleteCmd) Run(env *adminEnv) error {
	switch c.What {
	case "services":
		for _, sd := range discover(env.paths) {
			fmt.Fprintln(env.out, sd.name)
		}
	case "verbs":
		for _, v := range completeVerbs(env.paths, c.Name) {
			fmt.Fprintln(env.out, v)
		}
	}
	return nil
}

// completeVerbs lists the verbs of a service: the built-in ones always, the custom
// ones when its definition loads.
func completeVerbs(paths definition.Paths, name string) []string {
	out := append([]string(nil), definition.BuiltinVerbs...)
	if name == "" {
		return out
	}
	name, file, err := FindDefinition(paths, name)
	if err != nil {
		return out
	}
	def, err := definition.Load(name, file, paths)
	if err != nil {
		return out
	}
	for _, v := range def.Verbs {
		out = append(out, v.Name)
	}
	return out
}
