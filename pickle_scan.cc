#include "pickle_scan.h"

#include <array>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace featx {

namespace {

// What follows each opcode (Python's pickletools.py): nothing or a fixed
// number of bytes, a length prefix of some width then that many bytes, or
// lines of text.
struct Argument {
  enum Kind : uint8_t { kUnknown, kFixed, kPrefixed, kLines } kind = kUnknown;
  uint8_t n = 0;
};

const std::array<Argument, 256>& Arguments() {
  static const auto* const table = [] {
    auto* t = new std::array<Argument, 256>();
    auto set = [&](absl::string_view ops, Argument::Kind kind, uint8_t n) {
      for (char op : ops) (*t)[static_cast<unsigned char>(op)] = {kind, n};
    };
    set(absl::string_view("(.012N\x88\x89)]}aesut\x85\x86\x87Rb\x81Qld\x8f\x90\x91\x92\x93\x94"
                          "\x97\x98o"),
        Argument::kFixed, 0);
    set("\x80Khq\x82", Argument::kFixed, 1);  // PROTO BININT1 BINGET BINPUT EXT1
    set("M\x83", Argument::kFixed, 2);        // BININT2 EXT2
    set("Jjr\x84", Argument::kFixed, 4);      // BININT LONG_BINGET LONG_BINPUT EXT4
    set("G\x95", Argument::kFixed, 8);        // BINFLOAT FRAME
    // SHORT_BINSTRING SHORT_BINUNICODE SHORT_BINBYTES LONG1; BINSTRING
    // BINUNICODE BINBYTES LONG4; BINUNICODE8 BINBYTES8 BYTEARRAY8.
    set("U\x8c", Argument::kPrefixed, 1);
    set("C\x8a", Argument::kPrefixed, 1);
    set("TXB\x8b", Argument::kPrefixed, 4);
    set("\x8d\x8e\x96", Argument::kPrefixed, 8);
    set("ci", Argument::kLines, 2);        // GLOBAL INST: module, name
    set("ILFSVPgp", Argument::kLines, 1);  // INT LONG FLOAT STRING UNICODE PERSID GET PUT
    return t;
  }();
  return *table;
}

uint64_t LittleEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = bytes.size(); i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

// A value on the scan's stack. Only what storage ids are made of is kept;
// everything else is kOther.
struct Value {
  enum Kind { kOther, kMark, kString, kInt, kGlobal, kTuple } kind = kOther;
  std::string text;  // kString; kGlobal: "module.name"
  int64_t number = 0;
  std::vector<Value> items;  // kTuple of at most kMaxTuple items
};

constexpr size_t kMaxTuple = 8;

class Scanner {
 public:
  // Applies `op` with its argument bytes; false where the scan stops.
  bool Apply(unsigned char op, absl::string_view arg) {
    switch (op) {
      case 0x80:
      case 0x95:  // PROTO FRAME
        return true;
      case '(':
        return Push({.kind = Value::kMark});
      case 'N':
      case 0x88:
      case 0x89:
      case 'G':
      case ']':
      case '}':
      case 0x8f:
        return Push({});
      case ')':
        return Push({.kind = Value::kTuple});
      case 'K':
      case 'M':  // BININT1 BININT2: unsigned
        return Push({.kind = Value::kInt, .number = static_cast<int64_t>(LittleEndian(arg))});
      case 'J':  // BININT: signed 32 bits
        return Push({.kind = Value::kInt,
                     .number = static_cast<int32_t>(static_cast<uint32_t>(LittleEndian(arg)))});
      case 0x8a:  // LONG1: two's complement, little-endian
        if (arg.empty() || arg.size() > 8) return Push({});
        return Push({.kind = Value::kInt, .number = SignExtend(LittleEndian(arg), arg.size())});
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'B':
      case 'C':
      case 0x8e:
      case 'U':
      case 'T':
      case 0x96:
        return Push({.kind = Value::kString, .text = std::string(arg)});
      case 'c': {  // GLOBAL "module\nname\n"
        std::vector<absl::string_view> lines = absl::StrSplit(arg, '\n');
        return Push({.kind = Value::kGlobal, .text = absl::StrCat(lines[0], ".", lines[1])});
      }
      case 't':
        return Collect(0);
      case 0x85:
      case 0x86:
      case 0x87:  // TUPLE1..3
        return Collect(op - 0x84);
      case 'l':
      case 'd':
        return PopToMark(nullptr) && Push({});
      case 'e':
      case 'u':
      case 0x90:  // APPENDS SETITEMS ADDITEMS: into the container below
        return PopToMark(nullptr) && !stack_.empty();
      case 'a':
      case 'b':
      case '0':  // APPEND BUILD POP
        return Pop(nullptr);
      case 's':  // SETITEM
        return Pop(nullptr) && Pop(nullptr) && !stack_.empty();
      case '1':  // POP_MARK
        return PopToMark(nullptr);
      case '2':  // DUP
        return !stack_.empty() && Push(Value(stack_.back()));
      case 'q':
      case 'r':  // BINPUT LONG_BINPUT
        if (stack_.empty()) return false;
        memo_[static_cast<uint32_t>(LittleEndian(arg))] = stack_.back();
        return true;
      case 0x94:  // MEMOIZE
        if (stack_.empty()) return false;
        memo_[static_cast<uint32_t>(memo_.size())] = stack_.back();
        return true;
      case 'h':
      case 'j': {  // BINGET LONG_BINGET
        auto it = memo_.find(static_cast<uint32_t>(LittleEndian(arg)));
        return it != memo_.end() && Push(Value(it->second));
      }
      case 'R':
      case 0x81:
      case 0x93:  // REDUCE NEWOBJ STACK_GLOBAL
        return Pop(nullptr) && Pop(nullptr) && Push({});
      case 0x92:  // NEWOBJ_EX
        return Pop(nullptr) && Pop(nullptr) && Pop(nullptr) && Push({});
      case 'Q': {  // BINPERSID
        Value id;
        if (!Pop(&id)) return false;
        Record(id);
        return Push({});
      }
      default:
        return false;
    }
  }

  std::vector<PickleScan::Storage> TakeStorages() { return std::move(storages_); }

 private:
  static int64_t SignExtend(uint64_t v, size_t bytes) {
    if (bytes < 8 && (v >> (bytes * 8 - 1)) & 1) v |= ~uint64_t{0} << (bytes * 8);
    return static_cast<int64_t>(v);
  }

  bool Push(Value v) {
    stack_.push_back(std::move(v));
    return true;
  }

  bool Pop(Value* out) {
    if (stack_.empty() || stack_.back().kind == Value::kMark) return false;
    if (out != nullptr) *out = std::move(stack_.back());
    stack_.pop_back();
    return true;
  }

  // Pops down to and including the last MARK; the items, in order.
  bool PopToMark(std::vector<Value>* items) {
    size_t mark = stack_.size();
    while (mark > 0 && stack_[mark - 1].kind != Value::kMark) --mark;
    if (mark == 0) return false;
    if (items != nullptr) {
      items->assign(std::make_move_iterator(stack_.begin() + mark),
                    std::make_move_iterator(stack_.end()));
    }
    stack_.resize(mark - 1);
    return true;
  }

  // A tuple of the `n` top items, or (n == 0) of the items above the MARK.
  bool Collect(size_t n) {
    std::vector<Value> items;
    if (n == 0) {
      if (!PopToMark(&items)) return false;
    } else {
      if (stack_.size() < n) return false;
      for (size_t i = stack_.size() - n; i < stack_.size(); ++i) {
        if (stack_[i].kind == Value::kMark) return false;
      }
      items.assign(std::make_move_iterator(stack_.end() - n),
                   std::make_move_iterator(stack_.end()));
      stack_.resize(stack_.size() - n);
    }
    if (items.size() > kMaxTuple) return Push({});
    return Push({.kind = Value::kTuple, .items = std::move(items)});
  }

  // ('storage', torch.<T>Storage, key, location, numel): PyTorch's pickler
  // (torch/csrc/jit/serialization/pickler.cpp, pushStorageOfTensor).
  void Record(const Value& id) {
    if (id.kind != Value::kTuple || id.items.size() != 5) return;
    const std::vector<Value>& f = id.items;
    if (f[0].kind != Value::kString || f[0].text != "storage" || f[1].kind != Value::kGlobal ||
        !absl::StartsWith(f[1].text, "torch.") || f[2].kind != Value::kString ||
        f[4].kind != Value::kInt) {
      return;
    }
    storages_.push_back({.type = f[1].text.substr(6), .key = f[2].text, .numel = f[4].number});
  }

  std::vector<Value> stack_;
  absl::flat_hash_map<uint32_t, Value> memo_;
  std::vector<PickleScan::Storage> storages_;
};

}  // namespace

absl::StatusOr<PickleScan> ScanPickle(absl::string_view pickle) {
  PickleScan scan;
  Scanner scanner;
  bool modelling = true;  // false once the scanner stops: lengths are still checked
  bool stop = false;      // an opcode or argument the scan cannot read past
  size_t at = 0;
  while (!stop && at < pickle.size()) {
    unsigned char op = static_cast<unsigned char>(pickle[at]);
    if (op == '.') {  // STOP
      scan.complete = modelling;
      break;
    }
    Argument arg = Arguments()[op];
    size_t start = at + 1;
    size_t end = start;
    switch (arg.kind) {
      case Argument::kUnknown:  // the unpickler's to judge
        stop = true;
        break;
      case Argument::kFixed:
        end = start + arg.n;
        stop = end > pickle.size();
        break;
      case Argument::kLines:
        for (int i = 0; i < arg.n && !stop; ++i) {
          end = pickle.find('\n', end);
          stop = end == absl::string_view::npos;
          if (!stop) ++end;
        }
        break;
      case Argument::kPrefixed: {
        if (start + arg.n > pickle.size()) {
          stop = true;
          break;
        }
        uint64_t length = LittleEndian(pickle.substr(start, arg.n));
        uint64_t remaining = pickle.size() - start - arg.n;
        if (length > remaining) {
          // LibTorch's unpickler allocates `length` bytes before it reads them.
          return absl::InvalidArgumentError(
              absl::StrCat("has ", length, " bytes of data at offset ", at, ", past its end (",
                           remaining, " bytes remain)"));
        }
        start += arg.n;
        end = start + length;
        break;
      }
    }
    if (stop) break;
    if (modelling) modelling = scanner.Apply(op, pickle.substr(start, end - start));
    at = end;
  }
  scan.storages = scanner.TakeStorages();
  return scan;
}

int StorageElementSize(absl::string_view type) {
  static const auto* const kSizes = new absl::flat_hash_map<std::string, int>({
      {"FloatStorage", 4},
      {"DoubleStorage", 8},
      {"HalfStorage", 2},
      {"BFloat16Storage", 2},
      {"LongStorage", 8},
      {"IntStorage", 4},
      {"ShortStorage", 2},
      {"CharStorage", 1},
      {"ByteStorage", 1},
      {"BoolStorage", 1},
      {"ComplexHalfStorage", 4},
      {"ComplexFloatStorage", 8},
      {"ComplexDoubleStorage", 16},
      {"QInt8Storage", 1},
      {"QUInt8Storage", 1},
      {"QInt32Storage", 4},
  });
  auto it = kSizes->find(std::string(type));
  return it == kSizes->end() ? 0 : it->second;
}

}  // namespace featx
