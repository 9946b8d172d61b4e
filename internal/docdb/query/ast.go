package query

// The syntax tree the parser builds and the compiler turns into closures.

type expr interface{ position() int }

type (
	// litExpr is a constant: a JSON value or undef.
	litExpr struct {
		pos int
		val any
	}
	// paramExpr is @name.
	paramExpr struct {
		pos  int
		name string // with the @
	}
	// identExpr names an alias bound by FROM or JOIN.
	identExpr struct {
		pos  int
		name string
	}
	// propExpr is x.name or x["name"].
	propExpr struct {
		pos  int
		x    expr
		name string
	}
	// indexExpr is x[index] for any index other than a string literal.
	indexExpr struct {
		pos   int
		x     expr
		index expr
	}
	// unaryExpr is -x, +x or NOT x.
	unaryExpr struct {
		pos int
		op  tokKind // tMinus, tPlus, or tIdent for NOT
		x   expr
	}
	// binaryExpr is an arithmetic, comparison, concatenation or logical
	// operator; AND and OR have op tIdent and and set.
	binaryExpr struct {
		pos  int
		op   tokKind
		and  bool // for op == tIdent: AND when true, OR when false
		l, r expr
	}
	betweenExpr struct {
		pos       int
		x, lo, hi expr
		not       bool
	}
	inExpr struct {
		pos  int
		x    expr
		list []expr
		not  bool
	}
	likeExpr struct {
		pos    int
		x, pat expr
		escape rune // 0 for none
		not    bool
	}
	// callExpr is a built-in function or aggregate call; name is upper case.
	callExpr struct {
		pos  int
		name string
		args []expr
	}
	objectExpr struct {
		pos  int
		keys []string
		kpos []int
		vals []expr
	}
	arrayExpr struct {
		pos   int
		elems []expr
	}
	// condExpr is c ? a : b.
	condExpr struct {
		pos     int
		c, a, b expr
	}
	// coalesceExpr is l ?? r.
	coalesceExpr struct {
		pos  int
		l, r expr
	}
)

func (e *litExpr) position() int      { return e.pos }
func (e *paramExpr) position() int    { return e.pos }
func (e *identExpr) position() int    { return e.pos }
func (e *propExpr) position() int     { return e.pos }
func (e *indexExpr) position() int    { return e.pos }
func (e *unaryExpr) position() int    { return e.pos }
func (e *binaryExpr) position() int   { return e.pos }
func (e *betweenExpr) position() int  { return e.pos }
func (e *inExpr) position() int       { return e.pos }
func (e *likeExpr) position() int     { return e.pos }
func (e *callExpr) position() int     { return e.pos }
func (e *objectExpr) position() int   { return e.pos }
func (e *arrayExpr) position() int    { return e.pos }
func (e *condExpr) position() int     { return e.pos }
func (e *coalesceExpr) position() int { return e.pos }

// selectItem is one entry of a SELECT list.
type selectItem struct {
	x    expr
	name string // explicit alias or implicit name
	pos  int
}

// source is the FROM clause or one JOIN.
type source struct {
	pos   int
	alias string
	// For FROM, root is the container name the path starts from; for
	// JOIN, path is any expression over the aliases bound before.
	root string
	path expr // nil: the document itself (FROM only)
	iter bool // "alias IN path": one row per array element
}

// count is the operand of TOP, OFFSET or LIMIT: a literal or a parameter.
type count struct {
	pos   int
	n     int
	param string // with @; "" for a literal
	slot  int    // the parameter's slot
}

// stmt is a parsed query before compilation.
type stmt struct {
	distinct bool
	top      *count
	star     bool
	value    expr // SELECT VALUE
	items    []selectItem
	from     *source
	joins    []*source
	where    expr
	orderBy  expr
	desc     bool
	offset   *count
	limit    *count
}
