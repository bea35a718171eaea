// @ts-check
/**
 * TypeDoc plugin for `npm run docs`. With `validation.notDocumented`, TypeDoc also wants a comment
 * on every member of a constant's inferred object type: each key of a catalogue (`PROBLEM_CODES`,
 * `CLIENT_ERROR_CODES`) and each key of a zod schema's internals. Those are values, documented by
 * the constant's own comment; what they describe is documented where it has a name (the inferred
 * type, the interface). This plugin exempts exactly those members, and nothing else: interfaces,
 * classes, type aliases, functions and their inline object types must still be documented.
 */
import { ReflectionKind } from 'typedoc'

/** @param {import('typedoc').Application} app */
export function load(app) {
  const validate = app.validate.bind(app)
  // Just before each package's project is validated (in `packages` mode, with that package's options).
  app.validate = (project) => {
    const exempt = []
    for (const member of project.getReflectionsByKind(ReflectionKind.Property | ReflectionKind.Method)) {
      // As TypeDoc's own check: only members declared in this package are ever reported.
      if (project.getSymbolIdFromReflection(member)?.packageName !== project.packageName) continue
      let owner = member.parent
      while (owner?.kindOf(ReflectionKind.TypeLiteral | ReflectionKind.Property)) owner = owner.parent
      if (owner?.kindOf(ReflectionKind.Variable)) exempt.push(member.getFriendlyFullName())
    }
    const documented = new Set(
      project
        .getReflectionsByKind(ReflectionKind.Property | ReflectionKind.Method)
        .filter((r) => r.hasComment())
        .map((r) => r.getFriendlyFullName()),
    )
    const listed = exempt.filter((name) => !documented.has(name))
    app.options.setValue('intentionallyNotDocumented', [
      ...app.options.getValue('intentionallyNotDocumented'),
      ...listed,
    ])
    validate(project)
  }
}
