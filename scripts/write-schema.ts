// Writes profiles/profile.schema.json from the zod schema (npm run schema). A unit test
// fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { profileJsonSchema } from '../src/profile/schema.ts';

export function schemaText(): string {
  return `${JSON.stringify(profileJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../profiles/profile.schema.json', import.meta.url), schemaText());
  console.log('wrote profiles/profile.schema.json');
}
