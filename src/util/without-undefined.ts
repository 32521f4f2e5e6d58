/**
 * zod's optional fields come out as `T | undefined`; with exactOptionalPropertyTypes the
 * lab's option types want them left out instead. Drops the keys whose value is undefined.
 */
export function withoutUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
