// A header-based A/B assignment, written as a Trellis TypeScript filter: every user (by the header the config names)
// lands in group "a" or "b" for good (a stable hash of the user), the app gets the group in `x-ab-group`, and the
// response carries it back; requests without the header are refused. Config: { header: string, percentB: number }.
import type { FilterContext, FilterRequest, FilterResponse, TrellisFilter } from '@trellis/filter-api';

interface AbConfig {
  header: string;
  percentB: number;
}

/** A stable bucket 0-99 for a user: the first bytes of its SHA-256. */
function bucketOf(user: string, ctx: FilterContext): number {
  return Number.parseInt(ctx.sha256Hex(user).slice(0, 8), 16) % 100;
}

const filter: TrellisFilter = {
  onRequest(req: FilterRequest, ctx: FilterContext) {
    const { header, percentB } = ctx.config as AbConfig;
    const user = req.header(header);
    if (user === undefined) return { status: 400, body: `missing ${header}` };
    const group = bucketOf(user, ctx) < percentB ? 'b' : 'a';
    req.setHeader('x-ab-group', group);
    ctx.state.set('group', group);
    ctx.count(`group_${group}`);
    return undefined;
  },
  onResponse(res: FilterResponse, ctx: FilterContext) {
    const group = ctx.state.get('group');
    if (typeof group === 'string') res.setHeader('x-ab-group', group);
  },
};

export default filter;
