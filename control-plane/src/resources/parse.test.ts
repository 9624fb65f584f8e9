// parseDocuments: multi-document YAML and JSON, empty documents, syntax errors with document index and line.
import { expect } from 'chai';
import { parseDocuments } from './parse.ts';

describe('parseDocuments', () => {
  it('splits YAML documents and skips empty ones, keeping their numbers', () => {
    const result = parseDocuments('kind: Service\n---\n---\nkind: Route\n');
    expect(result.errors).to.deep.equal([]);
    expect(result.documents.map((d) => [d.index, d.line, d.value])).to.deep.equal([
      [1, 1, { kind: 'Service' }],
      [3, 3, { kind: 'Route' }],
    ]);
  });

  it('reads JSON, and a top-level list as a list of documents', () => {
    expect(parseDocuments('{"kind": "Service"}').documents.map((d) => d.value)).to.deep.equal([{ kind: 'Service' }]);
    expect(parseDocuments('[{"kind": "Service"}, {"kind": "Route"}]').documents.map((d) => d.index)).to.deep.equal([
      1, 2,
    ]);
  });

  it('names the document and line of a syntax error', () => {
    const result = parseDocuments('kind: Service\n---\nkind: Route\nspec:\n  hosts: [orders\n');
    expect(result.errors).to.have.length(1);
    expect(result.errors[0]).to.match(/^document 2: YAML syntax error at line \d+, column \d+: .+/);
    expect(result.documents).to.have.length(1);
  });

  it('rejects duplicate keys', () => {
    expect(parseDocuments('a: 1\na: 2\n').errors[0]).to.equal(
      'document 1: YAML syntax error at line 2, column 1: Map keys must be unique',
    );
  });
});
