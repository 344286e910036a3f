// Next's ambient types (CSS modules, images) without next-env.d.ts, which `next build` rewrites
// for whichever dist dir it builds and which a fresh clone does not have: typecheck must not
// depend on a build having run.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
