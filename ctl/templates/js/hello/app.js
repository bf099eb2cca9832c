// The {{name}} actor: `hello(name)` answers `Hello, {name}!`.
export function hello(name) {
  return `Hello, ${name}!`;
}
