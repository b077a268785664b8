/**
 * Removes the legacy `Object.prototype.__proto__` accessor from the process,
 * as `node --disable-proto=delete` does, so that a claim named `__proto__`
 * arrives over gRPC, gRPC-Web and Connect like any other.
 *
 * protobuf-es fills the map of a `google.protobuf.Struct` by plain assignment
 * (`fields[key] = value`), from binary and from JSON, at every depth, and then
 * copies it into a fresh JsonObject with `Object.entries`. With the accessor
 * in place, a `__proto__` key sets the map's prototype instead of adding an
 * entry, and the copy leaves no trace of it: nothing Tessera runs afterwards
 * could tell that it was sent. Without the accessor the same assignment
 * stores an ordinary own property, when requests are decoded and when
 * responses are encoded. Object literals (`{ __proto__: null }`),
 * `Object.getPrototypeOf` and `Object.setPrototypeOf` are unaffected.
 *
 * Throws when the accessor cannot be removed (for example under
 * `--frozen-intrinsics`): the service must not run where such a claim would be
 * dropped silently.
 */
export function removeProtoAccessor(): void {
  if (!Object.hasOwn(Object.prototype, "__proto__")) return;
  if (!Reflect.deleteProperty(Object.prototype, "__proto__")) {
    throw new Error(
      "cannot remove Object.prototype.__proto__, so protobuf-es would drop claims named __proto__; " +
        "start node with --disable-proto=delete",
    );
  }
}
