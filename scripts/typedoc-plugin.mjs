// @ts-check
/**
 * TypeDoc plugin for `npm run docs`. With `validation.notDocumented`, TypeDoc wants a comment on every
 * member of every object type it renders. Two kinds of member are not API a reader looks up, and this
 * plugin exempts exactly those, and nothing else:
 *
 * - the members of a constant's inferred object type: each key of a catalogue (`PROBLEM_CODES`,
 *   `CLIENT_ERROR_CODES`) and each key of a zod schema's internals. Those are values, documented by the
 *   constant's own comment; what they describe is documented where it has a name (the inferred type,
 *   the interface);
 * - the members of an object type written as the `extends` pattern of a conditional type
 *   (`T extends { kind: 'list' } ? … : …`, `T extends { path: infer P } ? … : …`). Nothing has that
 *   type: it is a test, explained by the type alias's own comment.
 *
 * Interfaces, classes, type aliases, functions and their inline object types must still be documented.
 */
import { ConditionalType, ReflectionKind, ReflectionType, Type } from 'typedoc'

/**
 * The object-type reflections written inside the `extends` pattern of some conditional type.
 *
 * @param {import('typedoc').ProjectReflection} project
 */
function conditionalPatterns(project) {
  /** @type {Set<import('typedoc').Reflection>} */
  const patterns = new Set()
  const seen = new Set()
  /** @param {unknown} type @param {boolean} inPattern */
  const walk = (type, inPattern) => {
    if (Array.isArray(type)) {
      for (const t of type) walk(t, inPattern)
      return
    }
    if (!(type instanceof Type) || seen.has(type)) return
    seen.add(type)
    if (type instanceof ConditionalType) {
      walk(type.checkType, inPattern)
      walk(type.extendsType, true)
      walk(type.trueType, inPattern)
      walk(type.falseType, inPattern)
      return
    }
    if (type instanceof ReflectionType) {
      if (inPattern) patterns.add(type.declaration)
      for (const child of type.declaration.children ?? []) walk(child.type, inPattern)
      return
    }
    for (const value of Object.values(type)) walk(value, inPattern)
  }
  for (const reflection of project.getReflectionsByKind(ReflectionKind.All)) {
    if ('type' in reflection) walk(reflection.type, false)
  }
  return patterns
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const validate = app.validate.bind(app)
  // Just before each package's project is validated (in `packages` mode, with that package's options).
  app.validate = (project) => {
    const patterns = conditionalPatterns(project)
    /** @type {Set<string>} */
    const exempt = new Set()
    for (const member of project.getReflectionsByKind(ReflectionKind.Property | ReflectionKind.Method)) {
      // As TypeDoc's own check: only undocumented members declared in this package are ever reported.
      if (
        member.hasComment() ||
        project.getSymbolIdFromReflection(member)?.packageName !== project.packageName
      )
        continue
      let owner = member.parent
      let inPattern = false
      while (owner?.kindOf(ReflectionKind.TypeLiteral | ReflectionKind.Property)) {
        if (patterns.has(owner)) inPattern = true
        owner = owner.parent
      }
      if (inPattern || owner?.kindOf(ReflectionKind.Variable)) exempt.add(member.getFriendlyFullName())
    }
    // TypeDoc matches these by name, and warns about a listed name no undocumented member used.
    app.options.setValue('intentionallyNotDocumented', [
      ...app.options.getValue('intentionallyNotDocumented'),
      ...exempt,
    ])
    validate(project)
  }
}
