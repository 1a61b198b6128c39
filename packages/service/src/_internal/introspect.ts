import type { interface as dbus } from "@jellybrick/dbus-next";

/** The shape of an interface's introspection data as the D-Bus library builds it. */
interface IntrospectXml {
  method?: { $: { name: string }; arg?: { $: Record<string, string> }[] }[];
  signal?: { $: { name: string }; arg?: { $: Record<string, string> }[] }[];
}

/**
 * Give the arguments of methods and signals their names in the introspection
 * data (the library leaves them unnamed), so `busctl introspect` and
 * generated bindings show `disk`, `request_json`, ...
 */
export function nameArguments<T>(xml: T, names: Readonly<Record<string, readonly string[]>>): T {
  const x = xml as IntrospectXml;
  for (const member of [...(x.method ?? []), ...(x.signal ?? [])]) {
    const argNames = names[member.$.name];
    if (!argNames) continue;
    (member.arg ?? []).forEach((arg, i) => {
      const name = argNames[i];
      if (name !== undefined) arg.$ = { name, ...arg.$ };
    });
  }
  return xml;
}

/** What an interface's `$introspect()` returns. */
export type IntrospectData = ReturnType<InstanceType<typeof dbus.Interface>["$introspect"]>;
